"""The data converter Tenure connects with everywhere: pydantic JSON, encrypted, failures too.

`DefaultFailureConverterWithEncodedAttributes` moves a failure's message and stack trace into an
encoded payload, so an error that quotes a member's data is encrypted like the data itself; the
server (and its UI, without the codec) sees "Encoded failure".
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from .codec import EncryptionCodec
from .keys import PayloadKeys


def payload_data_converter(keys: PayloadKeys) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
