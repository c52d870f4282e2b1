"""The OpenAPI document at /api/docs: every route with its auth level and its request body.

FastAPI cannot see either by itself: handlers read their bodies by hand (`parse_body`, for One
API's error messages) and the relay routes are plain Starlette routes. `install_openapi(app)`,
run once the routes are in place, completes FastAPI's document:

- auth level (`x-auth-level` and `security`): user/admin/root from the dependency a handler
  declares (`user_auth`, `admin_auth`, `root_auth`); relay-key for the relay routes and the `/api`
  routes in RELAY_KEY_ROUTES; public otherwise;
- request body: the `Body` model named in the handler's `parse_body(request, Model…)` call, or
  the model in HAND_READ_BODIES for a handler that decodes JSON itself;
- the relay routes (passed in: they may be dispatched outside FastAPI), named after their
  endpoint, its docstring as description.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute, Route

from oneapi.api.auth import admin_auth, root_auth, user_auth

PUBLIC, USER, ADMIN, ROOT, RELAY_KEY = "public", "user", "admin", "root", "relay-key"
LEVELS = (PUBLIC, USER, ADMIN, ROOT, RELAY_KEY)
_BY_DEPENDENCY: dict[Callable[..., Any] | None, str] = {
    user_auth.dependency: USER,
    admin_auth.dependency: ADMIN,
    root_auth.dependency: ROOT,
}
# `/api` routes that authenticate a relay key (`sk-…`) inside the handler, not by a dependency.
RELAY_KEY_ROUTES = {
    ("GET", "/api/available_models"),
    ("GET", "/api/token/balance"),
    ("GET", "/api/token/transactions"),
    ("GET", "/api/user/get-by-token"),
    ("GET", "/api/token/logs"),
    ("POST", "/api/token/consume"),
}
SECURITY_SCHEMES = {
    "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "set by /api/user/login"},
    "accessToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "the user's access token (GET /api/user/token)",
    },
    "relayKey": {"type": "http", "scheme": "bearer", "description": "a relay API key, sk-…"},
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    PUBLIC: [],
    USER: [{"session": []}, {"accessToken": []}],
    ADMIN: [{"session": []}, {"accessToken": []}],
    ROOT: [{"session": []}, {"accessToken": []}],
    RELAY_KEY: [{"relayKey": []}],
}
_PARSED_MODEL = re.compile(r"parse_body\(\s*\w+\s*,\s*([A-Za-z_]\w*)")
_NON_WORD = re.compile(r"\W+")
_MULTIPART_RELAY = ("/v1/audio/transcriptions", "/v1/audio/translations", "/v1/images/edits")


class OptionUpdate(BaseModel):
    """PUT /api/option/ (decoded by hand for One API's messages): one option to store."""

    key: str
    value: str | int | float | bool
    clear: bool = False


HAND_READ_BODIES: dict[tuple[str, str], type[BaseModel]] = {("PUT", "/api/option/"): OptionUpdate}


def _routes(app: FastAPI) -> Iterator[BaseRoute]:
    for context in iter_route_contexts(app.routes):
        yield context.original_route


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The FastAPI routes that belong in the document."""
    return [r for r in _routes(app) if isinstance(r, APIRoute) and r.include_in_schema]


def methods_of(route: APIRoute | Route) -> list[str]:
    return sorted((route.methods or set()) - {"HEAD"})


def auth_level(route: APIRoute, method: str) -> str:
    for dependency in route.dependant.dependencies:
        if dependency.call in _BY_DEPENDENCY:
            return _BY_DEPENDENCY[dependency.call]
    return RELAY_KEY if (method, route.path_format) in RELAY_KEY_ROUTES else PUBLIC


def body_model(route: APIRoute, method: str) -> type[BaseModel] | None:
    """The pydantic model the handler parses its body with, if any."""
    explicit = HAND_READ_BODIES.get((method, route.path_format))
    if explicit is not None:
        return explicit
    match = _PARSED_MODEL.search(inspect.getsource(route.endpoint))
    found = route.endpoint.__globals__.get(match.group(1)) if match else None
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _component_name(model: type[BaseModel]) -> str:
    """Unique across modules (user_admin's and redemptions' CreateBody are different bodies)."""
    return f"{model.__module__.rsplit('.', 1)[-1]}.{model.__name__}"


def _body_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    name = _component_name(model)
    if name not in components:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


def _mark(operation: dict[str, Any], level: str) -> None:
    operation["x-auth-level"] = level
    operation["security"] = _SECURITY[level]
    operation["description"] = f"Auth: {level}. " + operation.get("description", "")


def _relay_operation(route: Route, method: str) -> dict[str, Any]:
    name = route.endpoint.__name__.removeprefix("relay_").replace("_", " ")
    operation: dict[str, Any] = {
        "summary": f"Relay: {name}",
        "description": inspect.getdoc(route.endpoint) or "",
        "tags": ["relay"],
        "operationId": f"relay_{method.lower()}_{_NON_WORD.sub('_', route.path_format).strip('_')}",
        "responses": {"200": {"description": "the upstream's answer, in the caller's format"}},
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in route.param_convertors
        ],
    }
    if method in ("POST", "PUT", "PATCH"):
        kind = "multipart/form-data" if route.path_format in _MULTIPART_RELAY else "application/json"
        operation["requestBody"] = {"required": True, "content": {kind: {"schema": {"type": "object"}}}}
    _mark(operation, RELAY_KEY)
    return operation


def build_openapi(app: FastAPI, relay: Sequence[Route]) -> dict[str, Any]:
    """FastAPI's document of `app`, completed with auth levels, bodies and the `relay` routes."""
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    for route in api_routes(app):
        for method in methods_of(route):
            operation = schema["paths"][route.path_format][method.lower()]
            _mark(operation, auth_level(route, method))
            model = body_model(route, method)
            if model is not None:
                operation["requestBody"] = _body_ref(model, models)
    for relay_route in relay:
        paths = schema["paths"].setdefault(relay_route.path_format, {})
        for method in methods_of(relay_route):
            paths[method.lower()] = _relay_operation(relay_route, method)
    return schema


def install_openapi(app: FastAPI, relay: Sequence[Route]) -> None:
    """Serve the completed document at /api/openapi.json (built once, on first request)."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            built.update(build_openapi(app, relay))
        return built

    app.openapi = openapi  # type: ignore[method-assign]
