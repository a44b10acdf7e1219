"""`python -m starter.payload_codec KEY_ID`: print a new payload key entry for TENURE_PAYLOAD_KEYS."""

import sys

from .keys import PayloadKeyError, generate_key

if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
    sys.exit("usage: python -m starter.payload_codec KEY_ID   (e.g. 2027-01; prints KEY_ID:BASE64_32_BYTE_KEY)")
try:
    print(generate_key(sys.argv[1]))
except PayloadKeyError as e:
    sys.exit(str(e))
