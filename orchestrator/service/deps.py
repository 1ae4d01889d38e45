"""Route dependencies: the service's state, and the caller checked for one permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.service.auth import Permission, Principal
from orchestrator.service.bodies import CLOSE, declares_body
from orchestrator.service.state import ServiceState

_bearer = HTTPBearer(auto_error=False, description="A token from `commander token new`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def service_state(request: Request) -> ServiceState:
    """The app's state."""
    state: ServiceState = request.app.state.commander
    return state


def require(permission: Permission, *others: Permission) -> Callable[..., Principal]:
    """A dependency that authenticates the caller (401) and checks a permission (403).

    With `others`, holding any one of the permissions is enough.
    """
    wanted = (permission, *others)

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # A refused request's body is never read: drop the connection instead of draining it.
        close = CLOSE if declares_body(request) else {}
        if credentials is None:
            raise HTTPException(401, "a bearer token is required", _CHALLENGE | close)
        state = service_state(request)
        principal = state.auth.principal(credentials.credentials, now=state.clock())
        if principal is None:
            raise HTTPException(401, "unknown or expired bearer token", _CHALLENGE | close)
        if not any(principal.may(p) for p in wanted):
            roles = ", ".join(principal.roles)
            raise HTTPException(
                403, f"{principal.name} ({roles}) may not {permission.value}; ask an admin", close
            )
        return principal

    return check


State = Annotated[ServiceState, Depends(service_state)]
Submitter = Annotated[Principal, Depends(require(Permission.SUBMIT))]
Guarded = Annotated[Principal, Depends(require(Permission.GUARD))]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Signer = Annotated[Principal, Depends(require(Permission.SIGN))]
# A denial: an approver in one of the escalation's roles (checked by the route), or an admin.
Denier = Annotated[Principal, Depends(require(Permission.SIGN, Permission.FREEZE))]
Admin = Annotated[Principal, Depends(require(Permission.FREEZE))]
