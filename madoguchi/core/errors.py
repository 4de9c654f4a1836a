"""Domain errors: services raise these, one middleware maps them to HTTP."""


class ApplicationError(Exception):
    """Base of every error a service raises on purpose; its message is shown to the user."""

    status_code = 400

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    """The object does not exist, or the actor may not see it: both look the same."""

    status_code = 404


class PermissionDeniedError(ApplicationError):
    """The actor can see the object but may not make this change."""

    status_code = 403


class ValidationError(ApplicationError):
    """The input is not acceptable."""

    status_code = 400


class ConflictError(ApplicationError):
    """The change conflicts with the current state (for example a stale edit)."""

    status_code = 409
