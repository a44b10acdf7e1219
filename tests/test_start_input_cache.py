"""The start input a signal-with-start carries is spliced from one serialization per program
(starter/client/tenure_client.py `StartInputs`): it must be byte for byte what the data converter makes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.journey import JourneyInput
from starter.client.tenure_client import StartInputs, TenureClient, start_input


@pytest.mark.parametrize("customer_id", ["cus_1", "cus_NffrFeUfNV2Hib", "acct-7.a:b@c+d", "x" * 200])
def test_the_spliced_payload_is_the_converters(program, customer_id):
    client = SimpleNamespace(data_converter=pydantic_data_converter)
    spliced = StartInputs(client, program, 500).for_customer(customer_id)
    assert isinstance(spliced, RawValue)
    (expected,) = pydantic_data_converter.payload_converter.to_payloads([start_input(customer_id, program, 500)])
    assert spliced.payload == expected
    decoded = pydantic_data_converter.payload_converter.from_payloads([spliced.payload], [JourneyInput])[0]
    assert decoded.customer_id == customer_id and decoded.program == program


def test_an_id_json_would_escape_takes_the_converters_way(program):
    client = SimpleNamespace(data_converter=pydantic_data_converter)
    value = StartInputs(client, program, None).for_customer('cus_"quoted"\\é')
    assert isinstance(value, JourneyInput) and value.customer_id == 'cus_"quoted"\\é'


def test_the_client_serializes_once_per_program(program):
    tenure = TenureClient(SimpleNamespace(data_converter=pydantic_data_converter), program)
    tenure._start_input("cus_a", program)
    first = tenure._start_inputs
    tenure._start_input("cus_b", program)
    assert tenure._start_inputs is first
    other = program.model_copy(update={"version": "other"})
    assert tenure._start_input("cus_c", other).payload != first.for_customer("cus_c").payload
