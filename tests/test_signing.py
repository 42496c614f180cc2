"""Console request signatures (bot/signing.py)."""

from bot.signing import MAX_SKEW_SECONDS, problem, sign, signed_headers

SECRET = "s3cret"
BODY = b'{"text": "\xe5\x8c\x85\xe9\x82\xae\xe5\x90\x97"}'


def test_a_signed_request_passes():
    headers = signed_headers(SECRET, BODY, timestamp=1_800_000_000)
    assert problem(SECRET, headers, BODY, now=1_800_000_010) is None


def test_signature_covers_timestamp_and_body():
    assert sign(SECRET, 1, BODY) != sign(SECRET, 2, BODY)
    assert sign(SECRET, 1, BODY) != sign(SECRET, 1, BODY + b" ")
    assert sign(SECRET, 1, BODY) != sign("other", 1, BODY)


def test_rejections_say_why():
    headers = signed_headers(SECRET, BODY, timestamp=1_800_000_000)
    assert "missing" in problem(SECRET, {}, BODY, now=1_800_000_000)
    assert "bad signature" == problem("other", headers, BODY, now=1_800_000_000)
    assert "stale" in problem(SECRET, headers, BODY, now=1_800_000_000 + MAX_SKEW_SECONDS + 1)
    assert problem(SECRET, headers, BODY, now=1_800_000_000 + MAX_SKEW_SECONDS) is None
    bad_stamp = {**headers, "X-Xiaoer-Timestamp": "yesterday"}
    assert "Unix seconds" in problem(SECRET, bad_stamp, BODY, now=1_800_000_000)


def test_cookies_name_their_holder_and_cannot_be_forged():
    from bot.signing import cookie_value, value_of_cookie

    cookie = cookie_value(SECRET, "agent", "3")
    assert value_of_cookie(SECRET, "agent", cookie) == "3"
    assert value_of_cookie(SECRET, "buyer", cookie) is None  # an agent cookie is no buyer cookie
    assert value_of_cookie(SECRET, "agent", "4" + cookie[1:]) is None
    assert value_of_cookie("other", "agent", cookie) is None
    assert value_of_cookie(SECRET, "agent", "") is None
