"""Old name of :mod:`switchboard.gateway.authentication`, kept only so that the auth
package (``auth/service.py``, ``auth/resource.py``, owned by another branch) imports
unchanged; once they import ``switchboard.gateway.authentication``, this goes."""

from switchboard.gateway.authentication import (
    ANONYMOUS,
    AuthDenied,
    Authenticator,
    LoopbackOnly,
    Principal,
)

__all__ = ["ANONYMOUS", "AuthDenied", "Authenticator", "LoopbackOnly", "Principal"]
