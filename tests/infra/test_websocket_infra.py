"""The WebSocket API in the package: its three functions get the product's environment and policy, and only
the functions that send to connections may manage them (on this stack's WebSocket API alone) and are told
where its management API is."""
from __future__ import annotations

import json
from pathlib import Path

from infra import generate as infra

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = json.loads((ROOT / "infra" / "resources.json").read_text())["Resources"]
MANAGE = ["execute-api:ManageConnections"]


def _statements(function_name: str) -> list[dict]:
    role = RESOURCES[infra.role_id(function_name)]["Properties"]["Policies"]
    return [statement for policy in role for statement in policy["PolicyDocument"]["Statement"]]


def test_the_websocket_routes_are_packaged_functions():
    assert infra.websocket_function_names() == ["websocket_connect", "websocket_disconnect", "websocket_message"]
    for name in infra.websocket_function_names():
        assert name in infra.function_names()
        variables = RESOURCES[infra.function_id(name)]["Properties"]["Environment"]["Variables"]
        assert variables["STAGE"] == {"Ref": "Stage"} and "JWT_SECRET" not in variables


def test_only_the_senders_manage_connections_of_this_stacks_websocket_api():
    assert infra.websocket_senders() == {"deliver_events", "publish_outbox", "websocket_message"}
    for name in infra.function_names():
        managing = [s for s in _statements(name) if s["Action"] == MANAGE]
        variables = RESOURCES[infra.function_id(name)]["Properties"]["Environment"]["Variables"]
        if name in infra.websocket_senders():
            assert [r["Fn::Sub"] for r in managing[0]["Resource"]] == [
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketAPI}/*/POST/@connections/*",
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketAPI}/*/DELETE/@connections/*"]
            assert variables["WEBSOCKET_ENDPOINT"] == {
                "Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
        else:
            assert not managing and "WEBSOCKET_ENDPOINT" not in variables, name


def test_connections_are_kept_with_a_ttl_and_indexed_by_user():
    for table_id in ("WsConnectionsTable", "WsUserConnectionsTable", "WsSubscriptionsTable"):
        table = RESOURCES[table_id]["Properties"]
        assert table["TimeToLiveSpecification"] == {"AttributeName": "purge_at", "Enabled": True}, table_id
    by_user = RESOURCES["WsUserConnectionsTable"]["Properties"]["KeySchema"]
    assert by_user == [{"AttributeName": "user_id", "KeyType": "HASH"}]
