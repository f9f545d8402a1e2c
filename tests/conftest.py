pytest_plugins = [
    "tests.support.github_double.fixtures",
    "tests.support.act_fixtures",
]
