from madoguchi.core.websockets import frame_too_big, json_object


def test_frame_size_counts_utf8_bytes_not_characters():
    text = "あ" * 10  # 10 characters, 30 bytes
    assert frame_too_big(text, 29)
    assert not frame_too_big(text, 30)


def test_only_a_json_object_is_a_frame():
    assert json_object('{"type": "ping"}') == {"type": "ping"}
    assert json_object("[1, 2]") is None
    assert json_object('"ping"') is None
    assert json_object("{not json") is None
