"""The spans a request's trace makes besides its server span: one per policy stage, one per
provider attempt (OpenTelemetry GenAI attributes). Each is a no-op object when export is off.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue


def genai_attributes(
    system: str | None = None,
    request_model: str | None = None,
    response_model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    http_status: int | None = None,
) -> dict[str, AttributeValue]:
    candidates: tuple[tuple[str, AttributeValue | None], ...] = (
        ("gen_ai.system", system),
        ("gen_ai.request.model", request_model),
        ("gen_ai.response.model", response_model),
        ("gen_ai.usage.input_tokens", input_tokens),
        ("gen_ai.usage.output_tokens", output_tokens),
        ("http.response.status_code", http_status),
    )
    return {k: v for k, v in candidates if v is not None}


def finish(span: Span, exc: BaseException | None) -> None:
    """End a span (only ever made with export on, so the API is loaded by then)."""
    if exc is not None:
        from opentelemetry.trace import Status, StatusCode

        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()


class StageSpan:
    """A child span for one policy stage (a no-op object when export is off)."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self._span is not None:
            self._span.set_attribute(key, value)

    def __enter__(self) -> StageSpan:
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span, self._span = self._span, None
        if span is not None:
            finish(span, exc)


NOOP_STAGE: Final = StageSpan(None)


class ProviderSpan:
    """The client span around one provider attempt; `headers()` is what the provider receives."""

    __slots__ = ("_ended", "_headers", "_span")

    def __init__(self, headers: Callable[[Span | None], dict[str, str]], span: Span | None) -> None:
        self._headers = headers
        self._span = span
        self._ended = False

    def headers(self) -> dict[str, str]:
        return self._headers(self._span)

    def set_attributes(
        self,
        *,
        response_model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        http_status: int | None = None,
    ) -> None:
        if self._span is not None and not self._ended:
            self._span.set_attributes(
                genai_attributes(
                    None, None, response_model, input_tokens, output_tokens, http_status
                )
            )

    def end(self, exc: BaseException | None = None) -> None:
        if self._span is not None and not self._ended:
            self._ended = True
            finish(self._span, exc)

    def __enter__(self) -> ProviderSpan:
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end(exc)
