# Schemathesis has no serializer for message/rfc822, the body of the relay endpoint
# (POST /api/v1/inbound/email): its bodies are made here, as mail-like messages and as any bytes.
import schemathesis
from hypothesis import strategies as st

printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def message(local, subject, body):
    text = f"From: {local}@client.example\r\nTo: parley@parley.localhost\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    return text.encode("utf-8", "replace")


mail = st.builds(message, st.from_regex(r"[a-z]{1,12}", fullmatch=True), printable, st.text(max_size=300))
schemathesis.openapi.media_type("message/rfc822", st.one_of(mail, st.binary(min_size=1, max_size=600)))
