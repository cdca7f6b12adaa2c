"""Generates infra/: the AWS resources Chalice does not create, from the models and queue specs.

    python -m infra.generate            # rewrite the generated files
    python -m infra.generate --check    # exit 1 if a committed file is out of date

`make package` merges infra/resources.json into Chalice's own template
(`chalice package --merge-template infra/resources.json out/`). The fragment holds:

* one DynamoDB table per PynamoDB model (keys, indexes, TTL and stream read from the model),
* one SQS queue per QueueSpec, with its dead-letter queue, redrive policy and an alarm on the DLQ,
* for each DynamoDB stream handler, a queue for the records it gave up on, with an alarm,
* deep overrides of Chalice's resources: SQS event sources point at the queues above, DynamoDB stream
  event sources at their table's stream (retried, then the failure queue), every
  function's STAGE / RESOURCE_PREFIX / JWT_SECRET_SSM_PARAMETER follow the stack's `Stage`
  parameter, and every function role gets a least-privilege policy on this stage's tables and queues.

Chalice (autogen_policy false) also needs a policy file per stage to build; .chalice/policy-<stage>.json
is generated here too: the same permissions with region and account left as wildcards. The packaged
template replaces it with the exact per-function policies above.

Build time only: the Lambda handlers never import this module.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.gateways.queues import QUEUES, QueueSpec
from chalicelib.headers import SECURITY_HEADERS
from chalicelib.observability import NAMESPACE, OLDEST_OPEN_HOLD, SERVICE, SETTLEMENT_FAILED
from chalicelib.persistence.base import BaseModel
from chalicelib.persistence.tables import ALL_MODELS

ROOT = Path(__file__).resolve().parents[1]
RESOURCES_FILE = ROOT / "infra" / "resources.json"
CHALICE_CONFIG_FILE = ROOT / ".chalice" / "config.json"

STAGES = ("dev", "prod")  # the stages of .chalice/config.json
STAGE_PARAMETER = "Stage"
# Physical names: the stage's prefix + the logical name, as Settings.resource_prefix says.
NAME_PREFIX = "callx-${Stage}-"
JWT_SECRET_PARAMETER = "/callx/${Stage}/jwt-secret"
TWILIO_TOKEN_PARAMETER = "/callx/${Stage}/twilio-auth-token"
STRIPE_KEY_PARAMETER = "/callx/${Stage}/stripe-secret-key"
STRIPE_WEBHOOK_SECRET_PARAMETER = "/callx/${Stage}/stripe-webhook-secret"
TWILIO_SID_PARAMETER = "TwilioAccountSid"
# What Twilio calls back: the API's public (custom domain) URL. A parameter, not ${RestAPI}: the
# functions' environment cannot refer to the API that refers to them.
PUBLIC_URL_PARAMETER = "PublicBaseUrl"

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time to look at what failed

# What the code does with DynamoDB, as IAM actions. TransactWriteItems / TransactGetItems are not
# IAM actions: each item of a transaction is authorised as its PutItem / UpdateItem / DeleteItem /
# ConditionCheckItem / GetItem. Model.count(hash_key) is a Query. Nothing scans or calls DescribeTable
# at run time (tests/infra checks the code for calls that would need more).
DYNAMODB_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                          "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:BatchGetItem")
DYNAMODB_INDEX_ACTIONS = ("dynamodb:Query",)
SQS_PRODUCER_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# What Lambda's SQS event source mapping does with the consumer's role.
SQS_CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# Log groups are CloudFormation resources (log_retention_in_days in .chalice/config.json), so the
# functions only write to them; with logs:CreateLogGroup a function could race the stack to create one.
LOGS_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# The secret is a SecureString under the AWS managed key aws/ssm, whose key policy already lets
# the account's principals decrypt through SSM: no kms:Decrypt needed (a customer key would be).
SSM_ACTIONS = ("ssm:GetParameter",)
# Mail (gateways/mail.py) from the stage's verified SES identities.
SES_ACTIONS = ("ses:SendEmail",)
# What Lambda's DynamoDB stream event source does with the handler's role (ListStreams has no resource).
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
LIST_STREAMS_ACTIONS = ("dynamodb:ListStreams",)
# Where Lambda puts what it gave up on (the records' positions, not the records: the outbox item has them).
STREAM_FAILURE_ACTIONS = ("sqs:SendMessage",)

# A stream handler's event source: a failed record is retried from where it failed (the handler answers a
# partial batch response) a few times, halving the batch, then noted on the failure queue; batches of one
# shard run 10 at a time (records of one outbox item stay in order), and only new items invoke it.
STREAM_RETRIES = 10
STREAM_PARALLELIZATION = 10

ARN_PREFIX = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"


# --- names ------------------------------------------------------------------------------------

def camel(name: str) -> str:
    """users -> Users, ledger_entries -> LedgerEntries, notifications-dlq -> NotificationsDlq."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def table_id(model: type[BaseModel]) -> str:
    return f"{camel(model.logical_name)}Table"


def queue_id(spec: QueueSpec) -> str:
    return f"{camel(spec.logical)}Queue"


def dead_letter_queue_id(spec: QueueSpec) -> str:
    return f"{camel(spec.logical)}DeadLetterQueue"


def alarm_id(spec: QueueSpec) -> str:
    return f"{camel(spec.logical)}DeadLetterQueueAlarm"


def physical(logical: str) -> dict[str, str]:
    return {"Fn::Sub": NAME_PREFIX + logical}


def function_id(function_name: str) -> str:
    """The logical id `chalice package` gives a function (it renames the API handler)."""
    from chalice.utils import to_cfn_resource_name

    return "APIHandler" if function_name == "api_handler" else to_cfn_resource_name(function_name)


def role_id(function_name: str) -> str:
    """With autogen_policy false Chalice makes one role per function, named `<function>_role`."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(f"{function_name}_role")


# --- the app's functions ----------------------------------------------------------------------

def _app():
    from app import app  # the project root is on sys.path (python -m / pytest from the root)

    return app


def function_names() -> list[str]:
    """Every Lambda function `chalice package` makes for the app, by Chalice's function name."""
    app = _app()
    names = ["api_handler"] if app.routes else []
    names += [source.name for source in app.event_sources]
    names += [function.name for function in app.pure_lambda_functions]
    names += [authorizer.name for authorizer in app.builtin_auth_handlers]
    names += websocket_function_names()
    return names


# Chalice's function name for each WebSocket route it packages (chalice/deploy/appgraph.py).
_WEBSOCKET_FUNCTIONS = {"$connect": "websocket_connect", "$disconnect": "websocket_disconnect"}


def websocket_function_names() -> list[str]:
    """The WebSocket API's functions: $connect, $disconnect and one for every message route."""
    routes = _app().websocket_handlers
    return sorted({_WEBSOCKET_FUNCTIONS.get(route, "websocket_message") for route in routes})


def websocket_senders() -> set[str]:
    """The functions that send to WebSocket connections (answers to messages, the events' fan-out): only they
    may manage the WebSocket API's connections, and only they are told where its management API is."""
    from chalicelib.gateways.queues import EVENTS

    senders = {source.name for source in sqs_sources() if source.queue == EVENTS}
    senders |= {source.name for source in dynamodb_sources()}  # the outbox's publisher fans events out
    if any(route not in _WEBSOCKET_FUNCTIONS for route in _app().websocket_handlers):
        senders.add("websocket_message")
    return senders


def dynamodb_sources() -> list[Any]:
    """The app's @on_dynamodb_record handlers (chalice.app.DynamoDBEventConfig)."""
    from chalice.app import DynamoDBEventConfig

    return [source for source in _app().event_sources if isinstance(source, DynamoDBEventConfig)]


def streamed_model(source: Any) -> type[BaseModel]:
    """The table a stream handler reads: its ARN names the table by its logical name (workers/outbox.py)."""
    logical = source.stream_arn.split(":table/", 1)[1].split("/", 1)[0]
    for model in ALL_MODELS:
        if model.logical_name == logical and getattr(model.Meta, "stream_view_type", None):
            return model
    raise LookupError(f"{source.name} reads the stream of {logical!r}, which no model with a stream declares")


def stream_failures(model: type[BaseModel]) -> str:
    """The logical name of the queue a stream's handler notes the records it gave up on in."""
    return f"{model.logical_name}-stream-failures"


def stream_event_id(function_name: str) -> str:
    """The logical id `chalice package` gives a DynamoDB event source (its resource `<name>-dynamodb-event-source`)."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(f"{function_name}-dynamodb-event-source")


def sqs_sources() -> list[Any]:
    """The app's @on_sqs_message handlers (chalice.app.SQSEventConfig)."""
    from chalice.app import SQSEventConfig

    return [source for source in _app().event_sources if isinstance(source, SQSEventConfig)]


def queue_spec(logical: str) -> QueueSpec:
    for spec in QUEUES:
        if spec.logical == logical:
            return spec
    raise LookupError(f"An SQS handler consumes {logical!r}, which has no QueueSpec in gateways/queues.py")


# --- tables -----------------------------------------------------------------------------------

def _key_schema(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants the HASH key first; PynamoDB's order follows a set.
    return [{"AttributeName": key["AttributeName"], "KeyType": key["KeyType"]}
            for key in sorted(keys, key=lambda key: key["KeyType"] != "HASH")]


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def _indexes(indexes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"IndexName": index["index_name"],
             "KeySchema": _key_schema(index["key_schema"]),
             "Projection": _projection(index["projection"])}
            for index in sorted(indexes, key=lambda index: index["index_name"])]


def table_resource(model: type[BaseModel]) -> dict[str, Any]:
    schema = model._get_schema()
    properties: dict[str, Any] = {
        "TableName": physical(model.logical_name),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(
            ({"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
             for a in schema["attribute_definitions"]),
            key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = _indexes(schema["global_secondary_indexes"])
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = _indexes(schema["local_secondary_indexes"])
    ttl = model._ttl_attribute()
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": stream}
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["SSESpecification"] = {"SSEEnabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        # Data outlives the stack: deleting or replacing the stack leaves the table behind.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


# --- queues -----------------------------------------------------------------------------------

def queue_resources(spec: QueueSpec) -> dict[str, Any]:
    dead_letter = spec.dead_letter
    return {
        queue_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": physical(spec.logical),
                "VisibilityTimeout": spec.visibility_timeout_seconds,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_queue_id(spec), "Arn"]},
                    "maxReceiveCount": spec.max_receive_count,
                },
                "SqsManagedSseEnabled": True,
            },
        },
        dead_letter_queue_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": physical(dead_letter),
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        alarm_id(spec): _not_empty_alarm(dead_letter, dead_letter_queue_id(spec), (
            f"Messages of {NAME_PREFIX}{spec.logical} failed {spec.max_receive_count} "
            f"deliveries and wait in {NAME_PREFIX}{dead_letter}.")),
    }


def _not_empty_alarm(logical: str, resource_id: str, description: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": physical(f"{logical}-not-empty"),
            "AlarmDescription": {"Fn::Sub": description},
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [resource_id, "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": 300,  # SQS publishes its metrics every five minutes
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    }


# Alarms on the product's own metrics (chalicelib/observability.py, EMF): money held too long, and
# settlements that could not finish.
METRIC_ALARMS = {
    "OldestOpenHoldAlarm": (OLDEST_OPEN_HOLD, "Maximum", 3600,
                            "A call has held a seller's money for over an hour: the hold job should have ended it."),
    "SettlementFailedAlarm": (SETTLEMENT_FAILED, "Sum", 0,
                              "A settlement could not finish (retried by its caller and the hold job)."),
}


def metric_alarms() -> dict[str, Any]:
    return {logical_id: {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": physical(camel_to_kebab(logical_id.removesuffix("Alarm"))),
            "AlarmDescription": description,
            "Namespace": NAMESPACE,
            "MetricName": metric,
            "Dimensions": [{"Name": "service", "Value": SERVICE}],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    } for logical_id, (metric, statistic, threshold, description) in METRIC_ALARMS.items()}


def camel_to_kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def stream_failure_resources(model: type[BaseModel]) -> dict[str, Any]:
    """Where Lambda notes the stream records a handler gave up on (after STREAM_RETRIES), and an alarm."""
    logical = stream_failures(model)
    return {
        f"{camel(logical)}Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": physical(logical), "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                           "SqsManagedSseEnabled": True},
        },
        f"{camel(logical)}Alarm": _not_empty_alarm(logical, f"{camel(logical)}Queue", (
            f"The handler of {NAME_PREFIX}{model.logical_name}'s stream gave up on records after "
            f"{STREAM_RETRIES} retries; {NAME_PREFIX}{logical} says which (the items are in the table).")),
    }


# --- permissions ------------------------------------------------------------------------------

def _statement(actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    """Resources are ARN patterns with ${AWS::Partition}, ${AWS::Region}, ${AWS::AccountId}, ${Stage}."""
    return {"Effect": "Allow", "Action": list(actions), "Resource": resources}


# Sending to and closing WebSocket connections (API Gateway's connection management API).
WEBSOCKET_ACTIONS = ("execute-api:ManageConnections",)
# The WebSocket API's connections, any stage: ${WebsocketAPI} is the API Chalice's template makes.
WEBSOCKET_CONNECTIONS_ARN = ARN_PREFIX % ("execute-api", "${WebsocketAPI}/*/POST/@connections/*")
WEBSOCKET_CLOSE_ARN = ARN_PREFIX % ("execute-api", "${WebsocketAPI}/*/DELETE/@connections/*")
# Where the management API is: the WebSocket API's stage URL over https (.chalice/config.json's
# api_gateway_stage is the stage Chalice gives it).
WEBSOCKET_ENDPOINT = "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/%s"


def _api_gateway_stage() -> str:
    return json.loads(CHALICE_CONFIG_FILE.read_text()).get("api_gateway_stage", "api")


def policy_statements(consumed: tuple[str, ...], sends_to_websockets: bool = False,
                      streams: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What a function may do; `consumed` are the logical names of the queues it is triggered by, `streams`
    those of the tables whose stream it reads."""
    def table_arn(model: type[BaseModel]) -> str:
        return ARN_PREFIX % ("dynamodb", f"table/{NAME_PREFIX}{model.logical_name}")

    def has_indexes(model: type[BaseModel]) -> bool:
        schema = model._get_schema()
        return bool(schema["global_secondary_indexes"] or schema["local_secondary_indexes"])

    tables = [table_arn(model) for model in ALL_MODELS]
    indexes = [f"{table_arn(model)}/index/*" for model in ALL_MODELS if has_indexes(model)]
    queues = [ARN_PREFIX % ("sqs", NAME_PREFIX + spec.logical) for spec in QUEUES]
    statements = [
        _statement(LOGS_ACTIONS, [ARN_PREFIX % ("logs", "log-group:/aws/lambda/*")]),
        _statement(SSM_ACTIONS, [ARN_PREFIX % ("ssm", "parameter" + name)
                                 for name in (JWT_SECRET_PARAMETER, TWILIO_TOKEN_PARAMETER, STRIPE_KEY_PARAMETER,
                                              STRIPE_WEBHOOK_SECRET_PARAMETER)]),
        _statement(DYNAMODB_TABLE_ACTIONS, tables),
        _statement(SES_ACTIONS, [ARN_PREFIX % ("ses", "identity/*")]),
    ]
    if indexes:
        statements.append(_statement(DYNAMODB_INDEX_ACTIONS, indexes))
    if queues:
        statements.append(_statement(SQS_PRODUCER_ACTIONS, queues))
    if consumed:
        statements.append(_statement(SQS_CONSUMER_ACTIONS,
                                     [ARN_PREFIX % ("sqs", NAME_PREFIX + logical) for logical in consumed]))
    if sends_to_websockets:
        statements.append(_statement(WEBSOCKET_ACTIONS, [WEBSOCKET_CONNECTIONS_ARN, WEBSOCKET_CLOSE_ARN]))
    if streams:
        statements.append(_statement(STREAM_ACTIONS, [
            ARN_PREFIX % ("dynamodb", f"table/{NAME_PREFIX}{logical}/stream/*") for logical in streams]))
        statements.append(_statement(LIST_STREAMS_ACTIONS, ["*"]))
        statements.append(_statement(STREAM_FAILURE_ACTIONS, [
            ARN_PREFIX % ("sqs", f"{NAME_PREFIX}{logical}-stream-failures") for logical in streams]))
    return statements


def _sub_resources(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "Resource": [{"Fn::Sub": arn} for arn in s["Resource"]]} for s in statements]


def _consumed_by(function_name: str) -> tuple[str, ...]:
    return tuple(sorted({source.queue for source in sqs_sources() if source.name == function_name}))


def streamed_by(function_name: str) -> tuple[str, ...]:
    return tuple(sorted({streamed_model(source).logical_name for source in dynamodb_sources()
                         if source.name == function_name}))


def build_policy_file(stage: str) -> dict[str, Any]:
    """.chalice/policy-<stage>.json: every function's permissions, any region and account."""
    consumed = tuple(sorted({source.queue for source in sqs_sources()}))
    values = {"${AWS::Partition}": "aws", "${AWS::Region}": "*", "${AWS::AccountId}": "*", "${Stage}": stage,
              "${WebsocketAPI}": "*"}

    def fill(arn: str) -> str:
        for placeholder, value in values.items():
            arn = arn.replace(placeholder, value)
        return arn

    streams = tuple(sorted({streamed_model(source).logical_name for source in dynamodb_sources()}))
    return {"Version": "2012-10-17",
            "Statement": [{**s, "Resource": [fill(arn) for arn in s["Resource"]]}
                          for s in policy_statements(consumed, sends_to_websockets=bool(websocket_senders()),
                                                     streams=streams)]}


# --- overrides of Chalice's resources ---------------------------------------------------------

def function_overrides() -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for name in function_names():
        resources[function_id(name)] = {"Properties": {"Environment": {"Variables": {
            # The stack's Stage decides every physical name, whatever stage Chalice packaged.
            "STAGE": {"Ref": STAGE_PARAMETER},
            "RESOURCE_PREFIX": {"Fn::Sub": NAME_PREFIX},
            "JWT_SECRET_SSM_PARAMETER": {"Fn::Sub": JWT_SECRET_PARAMETER},
            "TWILIO_AUTH_TOKEN_SSM_PARAMETER": {"Fn::Sub": TWILIO_TOKEN_PARAMETER},
            "STRIPE_SECRET_KEY_SSM_PARAMETER": {"Fn::Sub": STRIPE_KEY_PARAMETER},
            "STRIPE_WEBHOOK_SECRET_SSM_PARAMETER": {"Fn::Sub": STRIPE_WEBHOOK_SECRET_PARAMETER},
            "TWILIO_ACCOUNT_SID": {"Ref": TWILIO_SID_PARAMETER},
            "PUBLIC_BASE_URL": {"Ref": PUBLIC_URL_PARAMETER},
        }}}}
        sends = name in websocket_senders()
        if sends:
            resources[function_id(name)]["Properties"]["Environment"]["Variables"]["WEBSOCKET_ENDPOINT"] = {
                "Fn::Sub": WEBSOCKET_ENDPOINT % _api_gateway_stage()}
        resources[role_id(name)] = {"Properties": {"Policies": [{
            "PolicyName": f"{role_id(name)}Policy",
            "PolicyDocument": {"Version": "2012-10-17",
                               "Statement": _sub_resources(policy_statements(_consumed_by(name), sends,
                                                                             streamed_by(name)))},
        }]}}
    if "api_handler" in function_names():
        # Chalice names the API handler's log group after `${ApiHandler}`, then renames the function
        # to APIHandler; point the log group (log_retention_in_days, required) at the real function.
        resources["ApiHandlerLogGroup"] = {"Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}}
    for source in sqs_sources():
        # Chalice writes Queue as {"Fn::Sub": "arn:...:<logical name>"}; the merge is deep, so a
        # {"Fn::GetAtt": ...} would land beside it. The same key replaces it, and ${X.Arn} is a GetAtt.
        event: dict[str, Any] = {"Queue": {"Fn::Sub": "${%s.Arn}" % queue_id(queue_spec(source.queue))}}
        if source.batch_size > 1:
            # The handler must then return {"batchItemFailures": [...]} (powertools' process_partial_response).
            event["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        function = function_id(source.name)
        resources[function]["Properties"]["Events"] = {
            f"{function}SqsEventSource": {"Properties": event}}
    for source in dynamodb_sources():
        model = streamed_model(source)
        resources[function_id(source.name)]["Properties"]["Events"] = {stream_event_id(source.name): {"Properties": {
            # Chalice writes the placeholder ARN of workers/outbox.py: the table's own stream replaces it.
            "Stream": {"Fn::GetAtt": [table_id(model), "StreamArn"]},
            "StartingPosition": source.starting_position,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],  # the handler names the record that failed
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": STREAM_RETRIES,
            "ParallelizationFactor": STREAM_PARALLELIZATION,
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
            "DestinationConfig": {"OnFailure": {
                "Destination": {"Fn::GetAtt": [f"{camel(stream_failures(model))}Queue", "Arn"]}}},
        }}}
    return resources


# --- the template -----------------------------------------------------------------------------

# What API Gateway answers by itself (no such route, throttling, its own errors) in our error envelope,
# as the local server does (local/server.py). SAM writes them into the API definition.
_GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "NOT_FOUND", "ROUTE_NOT_FOUND", '"No such endpoint"'),
    "THROTTLED": (429, "RATE_LIMITED", "RATE_LIMITED", '"Too many requests"'),
    "REQUEST_TOO_LARGE": (413, "VALIDATION_ERROR", "PAYLOAD_TOO_LARGE", '"Request body is too large"'),
    "DEFAULT_4XX": (None, "VALIDATION_ERROR", "BAD_REQUEST", "$context.error.messageString"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR", "INTERNAL_ERROR", '"An internal error occurred"'),
}


THROTTLE_RATE, THROTTLE_BURST = 200, 400  # requests per second for the stage; beyond: 429 THROTTLED


def gateway_responses() -> dict[str, Any]:
    responses = {}
    for response_type, (status, error_type, code, message) in _GATEWAY_ERRORS.items():
        template = ('{"success": false, "error": {"type": "%s", "code": "%s", "message": %s, "details": [], '
                    '"request_id": "$context.requestId"}}' % (error_type, code, message))
        # The headers every answer carries (chalicelib/headers.py); API Gateway adds its request id
        # (x-amzn-RequestId), which the body's request_id repeats.
        response: dict[str, Any] = {
            "ResponseTemplates": {"application/json": template},
            "ResponseParameters": {"Headers": {name: f"'{value}'" for name, value in SECURITY_HEADERS.items()}}}
        if status:
            response["StatusCode"] = status
        responses[response_type] = response
    return {"RestAPI": {"Properties": {
        "GatewayResponses": responses,
        # Per-client fairness is the application's (login throttling); this caps the whole stage.
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": THROTTLE_RATE,
                            "ThrottlingBurstLimit": THROTTLE_BURST}],
    }}}


def build_template() -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for model in ALL_MODELS:
        resources[table_id(model)] = table_resource(model)
    for spec in QUEUES:
        resources.update(queue_resources(spec))
    resources.update(metric_alarms())
    for model in sorted({streamed_model(source) for source in dynamodb_sources()}, key=lambda m: m.logical_name):
        resources.update(stream_failure_resources(model))
    overrides = function_overrides()
    clash = set(resources) & set(overrides)
    if clash:
        raise ValueError(f"Logical ids used twice: {sorted(clash)}")
    resources.update(overrides)
    resources.update(gateway_responses())
    return {
        "Parameters": {
            STAGE_PARAMETER: {
                "Type": "String",
                "Default": STAGES[0],
                "AllowedValues": list(STAGES),
                "Description": "Chalice stage: names every table, queue and parameter callx-<Stage>-...",
            },
            TWILIO_SID_PARAMETER: {
                "Type": "String",
                "AllowedPattern": "^AC[0-9a-f]{32}$",
                "Description": "The Twilio account (its auth token is the SSM parameter /callx/<Stage>/twilio-auth-token)",
            },
            PUBLIC_URL_PARAMETER: {
                "Type": "String",
                "AllowedPattern": "^https://[^/]+(/.*)?$",
                "Description": "The API's public base URL, e.g. https://api.example.com (Twilio webhooks use it)",
            },
        },
        "Resources": resources,
    }


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def generated_files() -> dict[Path, str]:
    files = {RESOURCES_FILE: _render(build_template())}
    for stage in STAGES:
        files[ROOT / ".chalice" / f"policy-{stage}.json"] = _render(build_policy_file(stage))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed file differs from what the models and queues generate")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date; run: python -m infra.generate",
                  file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
