"""xportcn-async: the async Python SDK for the Xportcn KA open API."""

from . import converter as converter  # the 0.1 module, kept: its names live in wire/
from ._version import __version__ as __version__
from .client import (
    DEFAULT_BASE_URL,
    PlainHTTPWarning,
    RawResponse,
    RequestEvent,
    ResponseEvent,
    XportcnClient,
)
from .credentials import Credentials
from .endpoints import ENDPOINTS, Endpoint
from .envelope import EnvelopeStyle
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionDroppedError,
    FieldError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    ValidationError,
    XportcnError,
)
from .hooks import AttemptHooks, AttemptResponse, RateLimiterLike
from .models import *  # noqa: F403
from .models import __all__ as _models_all
from .resources import PreviewRejectedError, SearchOptions, SearchQuery
from .retry import RetryPolicy
from .signing import DefaultSigner, SignedParams, Signer, Signing, signature
from .transports import (
    DEFAULT_MAX_RESPONSE_SIZE,
    AiohttpTransport,
    HttptoolsTransport,
    InMemoryTransport,
    Request,
    ReqwestTransport,
    Response,
    Timeout,
    Transport,
)
from .wire import from_wire, to_wire, validate

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "ENDPOINTS",
    "APIError",
    "AiohttpTransport",
    "HttptoolsTransport",
    "AttemptHooks",
    "AttemptResponse",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionDroppedError",
    "Credentials",
    "DefaultSigner",
    "Endpoint",
    "EnvelopeStyle",
    "FieldError",
    "InMemoryTransport",
    "MalformedResponseError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PlainHTTPWarning",
    "PreviewRejectedError",
    "SearchOptions",
    "SearchQuery",
    "RateLimitError",
    "RateLimiterLike",
    "RawResponse",
    "Request",
    "RequestEvent",
    "RequestTimeoutError",
    "ReqwestTransport",
    "Response",
    "ResponseEvent",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SignedParams",
    "Signer",
    "Signing",
    "Timeout",
    "Transport",
    "TransportError",
    "ValidationError",
    "XportcnClient",
    "XportcnError",
    "from_wire",
    "signature",
    "to_wire",
    "validate",
    *_models_all,
]
