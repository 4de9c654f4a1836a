"""The email channel: parse, receive and send real mail, Japanese mail done right."""
