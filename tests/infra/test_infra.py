"""infra/ agrees with the models, the queue specs, the app and .chalice/config.json, and packages cleanly.

The model and queue checks read `_get_schema()` and QueueSpec directly and look resources up by their
physical names, so a bug in the generator's own naming or sorting cannot hide itself.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from chalice.app import DynamoDBEventConfig, SQSEventConfig
from chalice.config import Config
from chalice.utils import to_cfn_resource_name

from chalicelib.gateways.queues import QUEUES
from infra import bytecode
from infra import generate as infra
from chalicelib.persistence.tables import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads((ROOT / "infra" / "resources.json").read_text())
RESOURCES = TEMPLATE["Resources"]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGES = tuple(CONFIG["stages"])


def _app():
    from app import app

    return app


def _sqs_sources() -> list[SQSEventConfig]:
    return [s for s in _app().event_sources if isinstance(s, SQSEventConfig)]


def _dynamodb_sources() -> list[DynamoDBEventConfig]:
    return [s for s in _app().event_sources if isinstance(s, DynamoDBEventConfig)]


def _function_names() -> list[str]:
    app = _app()
    return (["api_handler"] if app.routes else []) + [s.name for s in app.event_sources]


def _chalice_config(stage: str, function_name: str) -> Config:
    return Config(chalice_stage=stage, function_name=function_name, config_from_disk=CONFIG)


def _by_name(resources: dict[str, Any], kind: str, name_property: str, name: str) -> tuple[str, dict]:
    found = [(rid, r) for rid, r in resources.items()
             if r.get("Type") == kind and r["Properties"].get(name_property) == {"Fn::Sub": f"callx-${{Stage}}-{name}"}]
    assert len(found) == 1, f"expected one {kind} named callx-<stage>-{name}, found {[rid for rid, _ in found]}"
    return found[0]


def _keys(key_schema: list[dict]) -> set[tuple[str, str]]:
    return {(k["AttributeName"], k["KeyType"]) for k in key_schema}


def _indexes(indexes: list[dict], name_key: str) -> dict[str, tuple]:
    return {i[name_key]: (_keys(i["key_schema" if name_key == "index_name" else "KeySchema"]),
                          i["projection" if name_key == "index_name" else "Projection"]["ProjectionType"],
                          set(i["projection" if name_key == "index_name" else "Projection"].get("NonKeyAttributes", [])))
            for i in indexes}


def assert_tables_match_models(resources: dict[str, Any]) -> None:
    tables = {rid for rid, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    assert len(tables) == len(ALL_MODELS)
    for model in ALL_MODELS:
        _, table = _by_name(resources, "AWS::DynamoDB::Table", "TableName", model.logical_name)
        schema, props = model._get_schema(), table["Properties"]
        assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == \
            {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]}, model.logical_name
        assert _keys(props["KeySchema"]) == _keys(schema["key_schema"]), model.logical_name
        assert props["KeySchema"][0]["KeyType"] == "HASH"  # DynamoDB's rule
        assert _indexes(props.get("GlobalSecondaryIndexes", []), "IndexName") == \
            _indexes(schema["global_secondary_indexes"], "index_name"), model.logical_name
        assert _indexes(props.get("LocalSecondaryIndexes", []), "IndexName") == \
            _indexes(schema["local_secondary_indexes"], "index_name"), model.logical_name
        for index in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", []):
            assert index["KeySchema"][0]["KeyType"] == "HASH"
        ttl = model._ttl_attribute()
        if ttl is None:
            assert "TimeToLiveSpecification" not in props, model.logical_name
        else:
            assert props["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}
        stream = getattr(model.Meta, "stream_view_type", None)
        assert props.get("StreamSpecification") == ({"StreamViewType": stream} if stream else None), model.logical_name
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


# --- (a) the committed files are what the models and queues generate ---------------------------

def test_committed_template_is_generated_from_models_and_queues():
    assert TEMPLATE == infra.build_template()


def test_check_mode_accepts_the_committed_files(capsys):
    assert infra.main(["--check"]) == 0, capsys.readouterr().err


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "resources.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(infra, "generated_files", lambda: {stale: infra._render(infra.build_template())})
    monkeypatch.setattr(infra, "ROOT", tmp_path)
    assert infra.main(["--check"]) == 1
    assert stale.read_text() == "{}\n"  # --check never writes


def test_stage_parameter_lists_the_chalice_stages():
    assert TEMPLATE["Parameters"]["Stage"]["AllowedValues"] == list(STAGES) == list(infra.STAGES)
    assert TEMPLATE["Parameters"]["Stage"]["Default"] == "dev"


# --- (b) tables: keys, indexes and TTL exactly as the models say --------------------------------

def test_every_model_has_its_table_with_keys_indexes_and_ttl():
    assert_tables_match_models(RESOURCES)


def test_the_sessions_table_expires_items_and_users_have_a_keys_only_index():
    """Spot checks against the models as written, in case _get_schema and the generator agree on a mistake."""
    _, sessions = _by_name(RESOURCES, "AWS::DynamoDB::Table", "TableName", "sessions")
    assert sessions["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "purge_at"
    _, users = _by_name(RESOURCES, "AWS::DynamoDB::Table", "TableName", "users")
    indexes = {i["IndexName"]: i for i in users["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["timed_suspensions"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert indexes["timed_suspensions"]["KeySchema"] == [
        {"AttributeName": "suspension_key", "KeyType": "HASH"},
        {"AttributeName": "suspended_until", "KeyType": "RANGE"}]
    assert indexes["by_type"]["Projection"] == {"ProjectionType": "ALL"}


# --- (c) queues: DLQ, redrive, alarm, visibility timeout vs the consumer's timeout --------------

@pytest.mark.parametrize("spec", QUEUES, ids=lambda spec: spec.logical)
def test_every_queue_has_a_dead_letter_queue_redrive_and_alarm(spec):
    queue_id, queue = _by_name(RESOURCES, "AWS::SQS::Queue", "QueueName", spec.logical)
    dlq_id, dlq = _by_name(RESOURCES, "AWS::SQS::Queue", "QueueName", f"{spec.logical}-dlq")
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": spec.max_receive_count}
    assert queue["Properties"]["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    alarms = [r["Properties"] for r in RESOURCES.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
              and r["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", QUEUES, ids=lambda spec: spec.logical)
def test_visibility_timeout_is_six_times_the_consumers_timeout(spec, stage):
    consumers = [s.name for s in _sqs_sources() if s.queue == spec.logical]
    assert consumers, f"nothing consumes {spec.logical}"
    _, queue = _by_name(RESOURCES, "AWS::SQS::Queue", "QueueName", spec.logical)
    for name in consumers:
        timeout = _chalice_config(stage, name).lambda_timeout
        # queues.py's consumer_timeout_seconds says the same as .chalice/config.json
        assert timeout == spec.consumer_timeout_seconds, (stage, name)
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout, (stage, name)


# --- (d) every SQS handler is triggered by the queue infra/ creates -----------------------------

def test_every_sqs_event_source_is_pointed_at_its_queue():
    sources = _sqs_sources()
    assert sources
    for source in sources:
        assert source.queue in {spec.logical for spec in QUEUES}
        queue_id, _ = _by_name(RESOURCES, "AWS::SQS::Queue", "QueueName", source.queue)
        function_id = to_cfn_resource_name(source.name)
        event = RESOURCES[function_id]["Properties"]["Events"][f"{function_id}SqsEventSource"]["Properties"]
        assert event["Queue"] == {"Fn::Sub": "${%s.Arn}" % queue_id}
        if source.batch_size > 1:
            assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        else:
            assert "FunctionResponseTypes" not in event


def test_the_outbox_is_published_from_its_tables_stream_and_what_fails_is_noted_and_alarmed():
    """The outbox's handler reads the outbox table's stream (new images, from the oldest record), names the
    record that failed (a partial batch response), and after its retries the stream notes the record on a
    queue with an alarm."""
    assert [(s.name, s.starting_position) for s in _dynamodb_sources()] == [("publish_outbox", "TRIM_HORIZON")]
    table_id, table = _by_name(RESOURCES, "AWS::DynamoDB::Table", "TableName", "outbox")
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    function_id = to_cfn_resource_name("publish_outbox")
    event = RESOURCES[function_id]["Properties"]["Events"][f"{function_id}DynamodbEventSource"]["Properties"]
    assert event["Stream"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert event["StartingPosition"] == "TRIM_HORIZON"
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and event["BisectBatchOnFunctionError"]
    assert json.loads(event["FilterCriteria"]["Filters"][0]["Pattern"]) == {"eventName": ["INSERT"]}
    failures_id, _ = _by_name(RESOURCES, "AWS::SQS::Queue", "QueueName", "outbox-stream-failures")
    assert event["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [failures_id, "Arn"]}}}
    alarms = [r["Properties"] for r in RESOURCES.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
              and r["Properties"]["Dimensions"] == [{"Name": "QueueName",
                                                     "Value": {"Fn::GetAtt": [failures_id, "QueueName"]}}]]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 0


# --- configuration and permissions --------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_stage_environment_names_this_stages_resources_and_holds_no_secret(stage, monkeypatch):
    from chalicelib.config import get_settings, reset_settings

    for name in _function_names():
        env = _chalice_config(stage, name).environment_variables
        assert env["STAGE"] == stage
        assert env["RESOURCE_PREFIX"] == f"callx-{stage}-"
        assert env["JWT_SECRET_SSM_PARAMETER"] == f"/callx/{stage}/jwt-secret"
        assert {"LOG_LEVEL", "POWERTOOLS_SERVICE_NAME"} <= set(env)
        assert "JWT_SECRET" not in env
        # The packaged template pins the same values to the stack's Stage parameter.
        pinned = dict(RESOURCES[infra.function_id(name)]["Properties"]["Environment"]["Variables"])
        pinned.pop("WEBSOCKET_ENDPOINT", None)  # the functions that send to WebSockets (test_websocket_infra.py)
        assert pinned == {"STAGE": {"Ref": "Stage"}, "RESOURCE_PREFIX": {"Fn::Sub": "callx-${Stage}-"},
                          "JWT_SECRET_SSM_PARAMETER": {"Fn::Sub": "/callx/${Stage}/jwt-secret"},
                          "TWILIO_AUTH_TOKEN_SSM_PARAMETER": {"Fn::Sub": "/callx/${Stage}/twilio-auth-token"},
                          "STRIPE_SECRET_KEY_SSM_PARAMETER": {"Fn::Sub": "/callx/${Stage}/stripe-secret-key"},
                          "STRIPE_WEBHOOK_SECRET_SSM_PARAMETER": {"Fn::Sub": "/callx/${Stage}/stripe-webhook-secret"},
                          "TWILIO_ACCOUNT_SID": {"Ref": "TwilioAccountSid"},
                          "PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"}}
    # ...and the prefix is the one the settings derive from the stage when none is given.
    monkeypatch.setenv("STAGE", stage)
    monkeypatch.delenv("RESOURCE_PREFIX", raising=False)
    reset_settings()
    try:
        assert get_settings().resource_prefix == f"callx-{stage}-"
    finally:
        reset_settings()


@pytest.mark.parametrize("stage", STAGES)
def test_functions_use_their_own_policy_and_managed_log_groups(stage):
    for name in _function_names():
        config = _chalice_config(stage, name)
        assert config.autogen_policy is False
        # The roles may not create log groups, so every function needs one from the template.
        assert config.log_retention_in_days, (stage, name)
    assert CONFIG["api_gateway_stage"] == "api"


# Calls that would need IAM actions the roles do not have. A match means: add the action to
# infra/generate.py and regenerate (python -m infra.generate).
NEEDS_MORE_PERMISSIONS = {
    r"\.delete\(": "dynamodb:DeleteItem",
    r"\.condition_check\(": "dynamodb:ConditionCheckItem",
    r"\.scan\(": "dynamodb:Scan",
    r"\bbatch_get\(": "dynamodb:BatchGetItem",
    r"\.batch_write\(": "dynamodb:BatchWriteItem",
    # exists without "(": passing Model.exists as a callable needs DescribeTable all the same.
    r"\bdescribe_table\(|Model\.count\(\)|Model\.exists\b": "dynamodb:DescribeTable",
    r"\.receive_message\(|\.delete_message\(": "sqs:ReceiveMessage / DeleteMessage outside Lambda's event source",
}


def test_runtime_code_needs_no_permission_the_roles_lack():
    runtime = [p for p in (ROOT / "chalicelib").rglob("*.py")
               if "local" not in p.relative_to(ROOT / "chalicelib").parts and p.name != "infra.py"]
    runtime.append(ROOT / "app.py")
    problems = []
    for path in runtime:
        text = path.read_text()
        for pattern, action in NEEDS_MORE_PERMISSIONS.items():
            if action not in infra.DYNAMODB_TABLE_ACTIONS and re.search(pattern, text):
                problems.append(f"{path.relative_to(ROOT)} needs {action}")
        for service in re.findall(r"boto3\.client\(\s*[\"'](\w+)[\"']", text):
            # apigatewaymanagementapi: only the roles of infra.websocket_senders() (test_websocket_infra.py)
            if service not in {"sqs", "ssm", "apigatewaymanagementapi", "ses"}:
                problems.append(f"{path.relative_to(ROOT)} calls {service}, which no role may use")
    assert not problems, problems


def test_policy_covers_exactly_the_stages_tables_indexes_queues_and_secret():
    statements = infra.policy_statements(consumed=("notifications",))
    by_action = {tuple(s["Action"]): s["Resource"] for s in statements}
    arn = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"
    assert by_action[infra.DYNAMODB_TABLE_ACTIONS] == [
        arn % ("dynamodb", f"table/callx-${{Stage}}-{m.logical_name}") for m in ALL_MODELS]
    assert by_action[("dynamodb:Query",)] == [
        arn % ("dynamodb", f"table/callx-${{Stage}}-{m.logical_name}") + "/index/*"
        for m in ALL_MODELS if m._get_schema()["global_secondary_indexes"] or m._get_schema()["local_secondary_indexes"]]
    assert by_action[("ssm:GetParameter",)] == [arn % ("ssm", "parameter/callx/${Stage}/jwt-secret"),
                                                arn % ("ssm", "parameter/callx/${Stage}/twilio-auth-token"),
                                                arn % ("ssm", "parameter/callx/${Stage}/stripe-secret-key"),
                                                arn % ("ssm", "parameter/callx/${Stage}/stripe-webhook-secret")]
    assert by_action[("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")] == [
        arn % ("sqs", "callx-${Stage}-notifications")]
    assert by_action[("logs:CreateLogStream", "logs:PutLogEvents")] == [arn % ("logs", "log-group:/aws/lambda/*")]
    assert by_action[("ses:SendEmail",)] == [arn % ("ses", "identity/*")]  # mail (gateways/mail.py)
    assert len(by_action) == len(statements) == 7  # nothing else
    # Only consumers may receive.
    assert all("sqs:ReceiveMessage" not in s["Action"] for s in infra.policy_statements(consumed=()))
    # Only a stream's handler may read it, and note what it gave up on.
    streaming = {tuple(s["Action"]): s["Resource"] for s in infra.policy_statements((), streams=("outbox",))}
    assert streaming[("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")] == [
        arn % ("dynamodb", "table/callx-${Stage}-outbox/stream/*")]
    assert streaming[("sqs:SendMessage",)] == [arn % ("sqs", "callx-${Stage}-outbox-stream-failures")]
    assert streaming[("dynamodb:ListStreams",)] == ["*"]  # an action without resources
    assert not any("dynamodb:GetRecords" in s["Action"] for s in infra.policy_statements(("notifications",)))


# --- (e) chalice package + cfn-lint -------------------------------------------------------------

def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed (requirements-dev.txt)"
    return found


@pytest.fixture(scope="module", params=STAGES)
def packaged(request, tmp_path_factory) -> tuple[str, dict[str, Any], Path]:
    """`chalice package --merge-template infra/resources.json` for one stage, offline.

    It packages a copy of the project without requirements.txt: for requirements Chalice runs
    `pip download` of Lambda wheels, which needs the network (or a warm .chalice/deployments cache),
    and they change nothing in sam.json. The app, chalicelib, .chalice and infra/ are the real ones; local/
    (the `make run` runtime) sits beside them as in the repository, for Chalice to leave out.
    """
    stage = request.param
    project = tmp_path_factory.mktemp(f"package-{stage}")
    ignore = shutil.ignore_patterns("__pycache__", "deployments", "venv")
    for item in ("app.py", "chalicelib", ".chalice", "infra", "vendor", "local"):
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, project / item, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, project / item)
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    out = project / "out"
    result = subprocess.run(
        [_bin("chalice"), "package", "--stage", stage, "--merge-template", "infra/resources.json", str(out)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return stage, json.loads((out / "sam.json").read_text()), out / "sam.json"


def test_packaged_template_passes_cfn_lint(packaged):
    _, _, sam = packaged
    result = subprocess.run([_bin("cfn-lint"), "--format", "parseable", str(sam)],
                            capture_output=True, text=True, timeout=300)
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    # parseable lines are path:line:col:end_line:end_col:RULE:message; I-rules are informational only.
    serious = [f for f in findings if not re.search(r":I\d{4}:", f)]
    assert not serious and result.returncode in (0, 8), result.stdout + result.stderr


def test_the_package_ships_bytecode_for_lambdas_python(packaged):
    """Lambda's /var/task is read-only: modules without .pyc are compiled again on every cold start."""
    _, template, sam = packaged
    version = CONFIG["lambda_python"]
    runtimes = {r["Properties"]["Runtime"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}
    assert runtimes == {f"python{version}"}  # the Python .chalice/config.json compiles for
    package = sam.parent / "deployment.zip"
    sources = {n for n in zipfile.ZipFile(package).namelist() if n.endswith(".py")}
    bytecode.compile_package(package)
    names = set(zipfile.ZipFile(package).namelist())
    tag = f"cpython-{version.replace('.', '')}"
    missing = [source for source in sources
               if f"{Path(source).parent / '__pycache__' / Path(source).stem}.{tag}.pyc".removeprefix("./")
               not in names]
    assert sources and not missing, missing


def test_packaged_zip_holds_chalicelib_and_none_of_the_local_runtime(packaged):
    """Lambda gets app.py and chalicelib/, not the `make run` runtime: no local/, no Twilio emulator, no moto."""
    _, _, sam = packaged
    names = set(zipfile.ZipFile(sam.parent / "deployment.zip").namelist())
    sources = {path.relative_to(ROOT).as_posix() for path in (ROOT / "chalicelib").rglob("*.py")}
    assert "app.py" in names and sources and not sources - names, sorted(sources - names)
    local_runtime = [name for name in names if "local" in name.split("/")[:-1] or "twilio_emulator" in name
                     or name.split("/")[0] == "moto" or name.startswith("moto-")]
    assert not local_runtime, sorted(local_runtime)


def test_packaged_template_has_the_models_tables_and_merged_overrides(packaged):
    stage, template, _ = packaged
    resources = template["Resources"]
    # An override whose logical id Chalice did not generate would leave a resource without a Type.
    assert all("Type" in r for r in resources.values()), [rid for rid, r in resources.items() if "Type" not in r]
    assert_tables_match_models(resources)
    for spec in QUEUES:
        _by_name(resources, "AWS::SQS::Queue", "QueueName", spec.logical)
    for source in _sqs_sources():
        function_id = to_cfn_resource_name(source.name)
        event = resources[function_id]["Properties"]["Events"][f"{function_id}SqsEventSource"]
        queue_id, _ = _by_name(resources, "AWS::SQS::Queue", "QueueName", source.queue)
        assert event["Type"] == "SQS"
        assert event["Properties"]["Queue"] == {"Fn::Sub": "${%s.Arn}" % queue_id}  # Chalice's ARN is gone
        assert resources[function_id]["Properties"]["Timeout"] == _chalice_config(stage, source.name).lambda_timeout
    for source in _dynamodb_sources():
        function_id = to_cfn_resource_name(source.name)
        [event] = resources[function_id]["Properties"]["Events"].values()
        table_id, _ = _by_name(resources, "AWS::DynamoDB::Table", "TableName", "outbox")
        assert event["Type"] == "DynamoDB"
        assert event["Properties"]["Stream"] == {"Fn::GetAtt": [table_id, "StreamArn"]}  # Chalice's placeholder is gone
        assert resources[function_id]["Properties"]["Timeout"] == _chalice_config(stage, source.name).lambda_timeout
    for name in _function_names():
        function_id = "APIHandler" if name == "api_handler" else to_cfn_resource_name(name)
        function = resources[function_id]["Properties"]
        role_id = function["Role"]["Fn::GetAtt"][0]
        consumed = tuple(sorted({s.queue for s in _sqs_sources() if s.name == name}))
        assert [p["PolicyDocument"]["Statement"] for p in resources[role_id]["Properties"]["Policies"]] == [
            [{**s, "Resource": [{"Fn::Sub": r} for r in s["Resource"]]}
             for s in infra.policy_statements(consumed, name in infra.websocket_senders(), infra.streamed_by(name))]]
        assert function["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}
        assert function["Environment"]["Variables"]["LOG_LEVEL"] == \
            _chalice_config(stage, name).environment_variables["LOG_LEVEL"]
        log_groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"
                      and r["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${%s}" % function_id}]
        assert len(log_groups) == 1, function_id
        assert log_groups[0]["RetentionInDays"] == _chalice_config(stage, name).log_retention_in_days


def test_the_deployed_api_answers_head_wherever_it_answers_get(packaged):
    """API Gateway's definition, as Chalice generates it from the routes: HEAD beside every GET, to the same
    Lambda integration (which answers GET's status and headers without the body)."""
    _, template, _ = packaged
    [definition] = [r["Properties"]["DefinitionBody"] for r in template["Resources"].values()
                    if r["Type"] == "AWS::Serverless::Api"]
    paths = definition["paths"]
    gets = {path for path, operations in paths.items() if "get" in operations}
    assert "/api/v1/health" in gets and {path for path, operations in paths.items() if "head" in operations} == gets
    for path in gets:
        assert paths[path]["head"]["x-amazon-apigateway-integration"] == paths[path]["get"]["x-amazon-apigateway-integration"]


def test_the_permission_guard_sees_a_model_method_passed_without_calling_it():
    pattern = next(p for p, action in NEEDS_MORE_PERMISSIONS.items() if action == "dynamodb:DescribeTable")
    assert re.search(pattern, "_probe(UserModel.exists)")
    assert re.search(pattern, "UserModel.exists()")
    assert not re.search(pattern, "UserModel.get(HEALTH_PROBE_KEY)")
