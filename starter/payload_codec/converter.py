"""The data converter Tenure connects with everywhere: pydantic JSON, encrypted, failures too.

`DefaultFailureConverterWithEncodedAttributes` moves a failure's message and stack trace into an
encoded payload, so an error that quotes a member's data is encrypted like the data itself; the
server (and its UI, without the codec) sees "Encoded failure".

The payload converter is one instance per process (`SharedPayloadConverter`): the SDK's worker
makes a new one for every workflow run it opens, each with its own cache of pydantic type adapters,
built again per run and kept as long as the run is cached (some 2.7 KB of every cached journey,
bench/RESULTS.md). The converter holds no per-run state: sharing it changes no payload.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import ClassVar

from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from .codec import EncryptionCodec
from .keys import PayloadKeys


class SharedPayloadConverter(PydanticPayloadConverter):
    """pydantic JSON, as `PydanticPayloadConverter`; every `SharedPayloadConverter()` is the same instance."""

    _shared: ClassVar[SharedPayloadConverter | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(cls) -> SharedPayloadConverter:
        with cls._lock:
            if cls._shared is None:
                shared = super().__new__(cls)
                PydanticPayloadConverter.__init__(shared)
                cls._shared = shared
            return cls._shared

    def __init__(self) -> None:
        """Made once, in `__new__` (Python calls this again on the shared instance: nothing to do)."""


def payload_data_converter(keys: PayloadKeys) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SharedPayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
