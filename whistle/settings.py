"""The one settings object, read from the environment once and passed down.

Nothing else in Whistle reads ``os.environ``: a command builds ``Settings()`` at its edge and hands it on,
so tests and the demo can point a whole process at other servers by constructing a different object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from limits import parse as parse_rate
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).parent / "data"


class Settings(BaseSettings):
    """Where the servers are and which files describe the district and its deadlines.

    With ``temporal_address`` and ``database_url`` unset, commands start (or find) the embedded stack under
    ``home``; set them to point at a real deployment.
    """

    model_config = SettingsConfigDict(env_prefix="WHISTLE_", extra="ignore", populate_by_name=True)

    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "WHISTLE_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "WHISTLE_TEMPORAL_NAMESPACE")
    )
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "WHISTLE_DATABASE_URL")
    )
    task_queue: str = "whistle"
    home: Path = Path(".whistle")
    embedded: bool = True
    """Whether an unset ``temporal_address`` / ``database_url`` starts the embedded dev stack. ``false`` (the image
    sets it), or the embedded servers not installed (they are the ``dev`` extra): an unset one is an error."""
    policy: Path = DATA_DIR / "policy.yaml"
    org: Path = DATA_DIR / "org.yaml"
    webhook_url: str | None = None
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: str = "INFO"
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    """Where the worker's Prometheus endpoint listens (with ``metrics_port``): this machine only unless set (a
    container sets ``0.0.0.0`` so its scraper can reach it)."""
    tracing: Literal["off", "otlp", "console"] = "off"
    """OpenTelemetry spans for every client call, workflow and activity (``whistle/tracing.py``, the ``tracing``
    extra): ``otlp`` sends them where the standard ``OTEL_EXPORTER_OTLP_*`` variables say, ``console`` prints them."""
    register_search_attributes: bool | None = None
    """Whether the worker adds Whistle's search attributes to a real server's namespace. Unset: yes, except on
    Temporal Cloud (an API key, or a ``*.tmprl.cloud`` / ``*.api.temporal.io`` address), where only ``tcld`` or the
    Cloud UI may create them."""
    shutdown_grace: float = Field(default=30.0, gt=0, le=3600)
    """Seconds a worker given SIGTERM or SIGINT lets its in-flight workflow tasks and activities finish."""
    temporal_port: int = 7233
    ui_port: int = 8233
    codec_keys: SecretStr | None = None
    """``id:base64key,...``: the first key encrypts Temporal payloads, all decrypt (``whistle/codec.py``)."""
    codec_port: int = 8234
    """Where ``whistle codec-server`` listens; the embedded Temporal UI asks it to decode. Unset, the port after
    ``ui_port`` (8234 beside the default 8233), so a second stack on other ports needs no third setting."""
    allow_plaintext: bool = False
    """Against a real server (``TEMPORAL_ADDRESS``), run without codec keys: payloads go to Temporal as plain JSON.
    Off by default: without keys and without this, the worker, the CLI and the gateway refuse to start."""
    codec_migration: bool = False
    """Read payloads written before the strict codec: plain ones, and encrypted ones not bound to their case.
    For a deployment whose older cases are still open; switch it off once they have closed."""
    codec_origins: str = ""
    """Comma-separated extra browser origins (a Temporal UI elsewhere) the codec server accepts."""
    codec_jwt_issuer: str | None = None
    """The codec server accepts callers with a bearer JWT from this issuer (the Temporal UI's ``passAccessToken``),
    signed by a key of ``codec_jwks_url``. Required for a codec server of a real deployment."""
    codec_jwks_url: str | None = None
    """Where the issuer publishes its signing keys (a JWKS document)."""
    codec_jwt_audience: str | None = None
    """The audience the tokens must name, if the issuer sets one."""
    codec_jwt_permissions_claim: str = "permissions"
    """The claim listing ``<namespace>:<role>`` grants, as Temporal's own default JWT claim mapper reads them."""
    codec_namespaces: str = ""
    """Comma-separated namespaces the codec server decodes for (empty: ``temporal_namespace`` alone)."""
    codec_encode: bool = False
    """Serve ``POST /encode`` too. Off: the UI only reads (its write actions, which would encode, are off)."""
    gateway_rate_per_address: str = "300/minute"
    """Requests one client address may send the gateway (``limits`` notation: ``300/minute``, ``10/second``)."""
    gateway_rate_per_key: str = "600/minute"
    """Requests one API key may send, wherever from, within the address's own budget."""
    gateway_check_timeout: float = Field(default=1.5, gt=0, le=60)
    """Seconds the gateway waits on PostgreSQL or Temporal for a key, a case's scope or a health check before it
    answers 503 (with ``Retry-After``): an outage is answered at once, not by a hung request."""
    gateway_query_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds any other PostgreSQL statement of the gateway may run (reports over a whole district) before 503."""

    photo_dir: Path | None = None
    """Where the directory store keeps photos (unset: ``objects/`` under ``home``). Used when ``photo_bucket`` is
    unset."""
    photo_bucket: str | None = None
    """An S3 bucket for photos: set, photos go to an S3-compatible store (``activities/photo_store.py``)."""
    photo_prefix: str = "photos/"
    """What every photo's object key starts with in ``photo_bucket``."""
    s3_endpoint_url: str | None = None
    """The S3-compatible server (``https://minio.example:9000``); unset: Amazon S3."""
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    """With ``s3_secret_access_key``; both unset, boto3 finds credentials itself (a profile, an instance role)."""
    s3_secret_access_key: SecretStr | None = None

    smtp_host: str | None = None
    """The SMTP server residents' e-mail goes through (``activities/email_channel.py``); unset: no e-mail to
    residents (the worker says so once when it starts)."""
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = "whistle@localhost"
    """The From of residents' e-mail: an address, or ``名称 <address>``."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """``starttls`` (port 587), ``tls`` (implicit, port 465), or ``none`` (a relay inside the network)."""
    sms_access_key_id: str | None = None
    """Aliyun SMS (``activities/aliyun_sms.py``): the AccessKey pair (a RAM user's with ``dysms`` rights) and the
    approved 短信签名; all three set, residents get SMS; none set, no SMS."""
    sms_access_key_secret: SecretStr | None = None
    sms_sign_name: str | None = None
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    resident_templates: Path | None = None
    """A directory of resident templates (``<moment>.<channel>.j2``) searched before the shipped ones."""
    resident_rate_limit: str = "5/hour"
    """Messages one resident's address may get per channel (``limits`` notation); more are dropped and recorded."""

    @field_validator("gateway_rate_per_address", "gateway_rate_per_key", "resident_rate_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        """Checked at start, so a misspelt budget fails there and not at the first request."""
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like 300/minute or 10/second") from None
        return value

    @model_validator(mode="after")
    def _sms_all_or_nothing(self) -> Settings:
        """Part of the SMS settings would fail at the first message; say so at start."""
        given = [self.sms_access_key_id, self.sms_access_key_secret, self.sms_sign_name]
        if any(value is not None for value in given) and any(value is None for value in given):
            raise ValueError("sms_access_key_id, sms_access_key_secret and sms_sign_name: set all three, or none")
        return self

    @model_validator(mode="after")
    def _s3_key_and_secret_together(self) -> Settings:
        """Half a credential would fail at the first photo; say so at start."""
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("s3_access_key_id and s3_secret_access_key: set both, or neither (boto3 finds them)")
        return self

    @model_validator(mode="after")
    def _codec_port_follows_ui_port(self) -> Settings:
        """After the fields are checked, so a bad ``WHISTLE_UI_PORT`` is reported as ``ui_port``."""
        if "codec_port" not in self.model_fields_set:
            self.codec_port = self.ui_port + 1
        return self
