-- Erasure (删除个人信息): a resident's data removed on request or at the end of the retention period.
-- personal_data keeps the row (its reference, so the case still resolves to "erased") with the person gone;
-- erasures records each erasure (PersonalDataErased: who, when, why, whether the free text went too), never
-- anything erased. Nothing here can be undone.
alter table personal_data add column erased_at timestamptz;

create table erasures (
    id bigserial primary key,
    complaint_id text not null,
    at timestamptz not null,
    erased_by text not null,
    reason text not null,
    text_redacted boolean not null
);
create index erasures_by_case on erasures (complaint_id);
