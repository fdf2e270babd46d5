"""The SDK resends a command the server aborted with its workflow task, and nothing else.

The server answers ``WorkflowNotReady`` when the workflow task carrying an Update failed (its worker died
mid-task): nothing was recorded, so a resend under the same Update id is safe. Any other error goes to the
caller at once.
"""

from __future__ import annotations

from google.protobuf.any_pb2 import Any as AnyDetail
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.service import RPCError, RPCStatusCode

from whistle.client import _workflow_not_ready


def rpc_error(*details: AnyDetail) -> RPCError:
    status = GrpcStatus(code=RPCStatusCode.FAILED_PRECONDITION, message="workflow task failed")
    status.details.extend(details)
    return RPCError("workflow task failed", RPCStatusCode.FAILED_PRECONDITION, status.SerializeToString())


def test_an_update_aborted_with_its_workflow_task_is_resent() -> None:
    detail = AnyDetail()
    detail.Pack(WorkflowNotReadyFailure())
    assert _workflow_not_ready(rpc_error(detail))


def test_other_errors_are_not_resent() -> None:
    assert not _workflow_not_ready(rpc_error())
    other = AnyDetail(type_url="type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure")
    assert not _workflow_not_ready(rpc_error(other))
