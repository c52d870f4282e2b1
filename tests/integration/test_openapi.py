"""The OpenAPI document at /api/docs stays true to the app: every route, its auth level, its body.

The route table is read from the running app (every FastAPI route and every relay route), so a
route added without documentation fails here. Auth levels are also checked against behaviour:
a route documented as needing credentials refuses an anonymous caller with 401.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Route

from oneapi.api.openapi_doc import LEVELS, RELAY_KEY_ROUTES
from oneapi.relay.routes import RELAY_ROUTES
from tests.support.client import Api
from tests.support.server import LiveServer

WRITES = {"POST", "PUT", "PATCH"}
READS_BODY = re.compile(r"parse_body\(|read_json\(|request\.body\(\)|request\.json\(\)|request\.form\(\)")
CREDENTIAL_LEVELS = {"user", "admin", "root", "relay-key"}


@pytest.fixture
def backend() -> str:
    """The document does not depend on the database: one backend is enough."""
    return "sqlite"


def _methods(route: APIRoute | Route) -> set[str]:
    return (route.methods or set()) - {"HEAD"}


def api_routes(server: LiveServer) -> list[APIRoute]:
    found = [context.original_route for context in iter_route_contexts(server.app.routes)]
    return [r for r in found if isinstance(r, APIRoute) and r.include_in_schema]


def relay_routes(server: LiveServer) -> list[Route]:
    """RELAY_ROUTES and any other plain route the app serves (FastAPI's docs pages excluded)."""
    found = [context.original_route for context in iter_route_contexts(server.app.routes)]
    return [*RELAY_ROUTES, *(r for r in found if type(r) is Route and r.include_in_schema)]


def route_table(server: LiveServer) -> set[tuple[str, str]]:
    routes: list[APIRoute | Route] = [*api_routes(server), *relay_routes(server)]
    return {(method, route.path_format) for route in routes for method in _methods(route)}


@pytest.fixture
def schema(anon: Api) -> dict[str, Any]:
    response = anon.http.get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), path): op for path, ops in schema["paths"].items() for m, op in ops.items()}


def test_docs_page_is_served(anon: Api) -> None:
    page = anon.http.get("/api/docs")
    assert page.status_code == 200
    assert "/api/openapi.json" in page.text


def test_every_route_of_the_app_is_documented_and_nothing_else(
    server: LiveServer, schema: dict[str, Any]
) -> None:
    table = route_table(server)
    documented = set(operations(schema))
    assert table - documented == set(), "routes missing from the OpenAPI document"
    assert documented - table == set(), "documented routes the app does not serve"
    assert ("POST", "/api/user/totp/disable/{id}") in table and ("POST", "/v1/chat/completions") in table


def test_every_operation_has_an_auth_level_and_matching_security(schema: dict[str, Any]) -> None:
    schemes = set(schema["components"]["securitySchemes"])
    for key, op in operations(schema).items():
        assert op.get("x-auth-level") in LEVELS, key
        assert all(set(requirement) <= schemes for requirement in op["security"]), key
        assert (op["security"] == []) == (op["x-auth-level"] == "public"), key


@pytest.mark.parametrize(
    ("method", "path", "level"),
    [
        ("GET", "/api/status", "public"),
        ("POST", "/api/user/login", "public"),
        ("GET", "/api/user/self", "user"),
        ("GET", "/api/user/totp/status", "user"),
        ("GET", "/api/user/", "admin"),
        ("POST", "/api/user/totp/disable/{id}", "admin"),
        ("PUT", "/api/option/", "root"),
        ("POST", "/api/token/consume", "relay-key"),
        ("GET", "/api/available_models", "relay-key"),
        ("POST", "/v1/chat/completions", "relay-key"),
        ("GET", "/v1/models", "relay-key"),
    ],
)
def test_auth_levels_follow_the_declared_dependency(
    schema: dict[str, Any], method: str, path: str, level: str
) -> None:
    assert operations(schema)[(method, path)]["x-auth-level"] == level


def test_every_write_route_that_reads_a_body_documents_it(server: LiveServer, schema: dict[str, Any]) -> None:
    ops = operations(schema)
    models = schema["components"]["schemas"]
    checked = 0
    for route in api_routes(server):
        if not READS_BODY.search(inspect.getsource(route.endpoint)):
            continue
        for method in _methods(route) & WRITES:
            body = ops[(method, route.path_format)].get("requestBody")
            assert body is not None, f"{method} {route.path_format} reads a body but documents none"
            ref = body["content"]["application/json"]["schema"]["$ref"]
            assert models[ref.rsplit("/", 1)[-1]]["properties"], ref
            checked += 1
    for route in relay_routes(server):
        for method in _methods(route) & WRITES:
            assert "requestBody" in ops[(method, route.path_format)], f"{method} {route.path_format}"
            checked += 1
    assert checked > 20


def test_body_schemas_list_the_fields_handlers_read(schema: dict[str, Any]) -> None:
    ops, models = operations(schema), schema["components"]["schemas"]

    def fields(method: str, path: str) -> set[str]:
        ref = ops[(method, path)]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return set(models[ref.rsplit("/", 1)[-1]]["properties"])

    assert fields("POST", "/api/user/login") == {"username", "password", "totp_code"}
    assert fields("POST", "/api/user/totp/confirm") == {"totp_code"}
    assert fields("PUT", "/api/option/") == {"key", "value", "clear"}
    assert {"name", "remain_quota", "expired_time"} <= fields("POST", "/api/token/")
    assert fields("POST", "/api/redemption/") != fields("POST", "/api/user/")  # same class name, two bodies


def test_relay_key_markers_name_real_routes_without_a_user_dependency(server: LiveServer) -> None:
    by_key = {(m, r.path_format): r for r in api_routes(server) for m in _methods(r)}
    for key in RELAY_KEY_ROUTES:
        assert key in by_key, f"stale relay-key marker {key}"
        assert not by_key[key].dependant.dependencies, key


def test_documented_credential_levels_refuse_anonymous_callers(
    server: LiveServer, schema: dict[str, Any]
) -> None:
    """Each GET route without path parameters answers an anonymous call as its level says."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for (method, path), op in operations(schema).items():
            if method != "GET" or "{" in path or not path.startswith("/api/"):
                continue
            status = client.get(path).status_code
            if op["x-auth-level"] in CREDENTIAL_LEVELS:
                assert status == 401, (path, status)
            else:
                assert status == 200, (path, status)
