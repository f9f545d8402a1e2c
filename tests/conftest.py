pytest_plugins = [
    "tests.support.github_double.fixtures",
]
