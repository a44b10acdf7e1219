"""The data converter Tenure connects with everywhere: pydantic JSON, encrypted, failures too.

`DefaultFailureConverterWithEncodedAttributes` moves a failure's message and stack trace into an
encoded payload, so an error that quotes a member's data is encrypted like the data itself; the
server (and its UI, without the codec) sees "Encoded failure".

The payload converter is one instance per process (`SharedPydanticPayloadConverter`): the SDK
builds a data converter, and so a payload converter from its class, for every workflow activation,
and each new `PydanticPayloadConverter` came with an empty cache of pydantic `TypeAdapter`s, built
again for the types that activation decoded (profiled: bench/RESULTS.md, the campaign fan-out).
The converter holds nothing but that cache and its options, so sharing it changes no payload.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, ClassVar

from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from .codec import EncryptionCodec
from .keys import PayloadKeys


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """`PydanticPayloadConverter` with the SDK's defaults, constructed once: every `cls()` is that one."""

    _shared: ClassVar[SharedPydanticPayloadConverter | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(cls, *args: Any, **kwargs: Any) -> SharedPydanticPayloadConverter:
        if cls._shared is None:
            with cls._lock:
                if cls._shared is None:
                    shared = super().__new__(cls)
                    PydanticPayloadConverter.__init__(shared)
                    cls._shared = shared
        return cls._shared

    def __init__(self) -> None:
        pass  # initialized once, in __new__


def payload_data_converter(keys: PayloadKeys) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SharedPydanticPayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
