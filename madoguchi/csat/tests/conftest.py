from madoguchi.connectors.line.tests.fake_line import fake_line  # noqa: F401
