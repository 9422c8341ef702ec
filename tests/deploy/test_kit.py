"""The deployment kit, read without Docker: what the image and compose file run is valid.

The multi-instance test (test_multi_instance.py) then runs those very commands,
settings and nginx.conf for real.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints import cli
from entrypoints.setting_values import Reader
from entrypoints.settings import Settings, load_settings
from tests.deploy import kit
from tests.http.conftest import TEST_SECRET_KEY

STOREFRONT_SERVICES = ("migrate", "api", "worker")
PYPROJECT = kit.DEPLOY.parent / "pyproject.toml"


def setting_names(environ: dict[str, str], tmp_path: Path) -> set[str]:
    """The names load_settings reads, given ``environ`` (every reader goes through text)."""
    read: set[str] = set()
    original = Reader.text

    def recording(reader: Reader, name: str) -> str | None:
        read.add(name)
        return original(reader, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Reader, "text", recording)
        load_settings(environ, env_file=None, secret_file=tmp_path / ".secret")
    return read


def kit_settings(name: str) -> Settings:
    values = {**kit.environment(name), "SECRET_KEY": TEST_SECRET_KEY}
    return load_settings(values, env_file=None)


@pytest.fixture
def real_settings(tmp_path: Path) -> set[str]:
    return setting_names({"SECRET_KEY": TEST_SECRET_KEY, "EMAIL_BACKEND": "log"}, tmp_path)


# --- Dockerfile -------------------------------------------------------------------------------


def stages() -> Iterator[list[tuple[str, str]]]:
    stage: list[tuple[str, str]] = []
    for instruction in kit.dockerfile_instructions():
        if instruction[0] == "FROM" and stage:
            yield stage
            stage = []
        stage.append(instruction)
    yield stage


def test_the_image_is_built_in_stages_onto_a_slim_base() -> None:
    built = [stage for stage in stages() if stage[0][0] == "FROM"]
    arguments = dict(kit.dockerfile_instructions())

    assert len(built) >= 2
    assert "slim" in arguments["ARG"]  # PYTHON_IMAGE, the base of every stage
    assert all(stage[0][1].startswith("${PYTHON_IMAGE}") for stage in built)
    final = built[-1]
    assert any(i == "COPY" and args.startswith("--from=build") for i, args in final)
    assert not any(i == "RUN" and "pip install" in args for i, args in final)


def test_the_image_installs_the_pinned_versions_the_tests_ran_against() -> None:
    instructions = kit.dockerfile_instructions()
    copied = {word for i, args in instructions if i == "COPY" for word in args.split()}
    installs = [args for i, args in instructions if i == "RUN" and "pip install" in args]

    assert "constraints.txt" in copied
    assert installs
    assert all("-c constraints.txt" in args for args in installs)


def test_the_image_copies_every_package_the_distribution_installs() -> None:
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]
    copied = {args.split()[0] for i, args in kit.dockerfile_instructions() if i == "COPY"}

    assert {name.split(".")[0] for name in packages} <= copied
    assert "pyproject.toml" in copied


def test_the_image_runs_as_a_user_of_its_own() -> None:
    final = list(stages())[-1]
    users = [args for instruction, args in final if instruction == "USER"]

    assert users
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_checks_readiness_and_starts_storefront_in_exec_form() -> None:
    final = dict(list(stages())[-1])

    healthcheck = final["HEALTHCHECK"]
    probe = kit.exec_form(healthcheck.partition("CMD ")[2])
    assert probe is not None
    assert "/health/ready" in " ".join(probe)
    assert kit.exec_form(final["ENTRYPOINT"]) == ["storefront"]
    default_command = kit.exec_form(final["CMD"])
    assert default_command is not None
    assert cli._parser().parse_args(default_command).command == "serve"


# --- compose.yaml -----------------------------------------------------------------------------


def test_compose_runs_the_whole_stack() -> None:
    services = kit.compose()["services"]

    assert {"postgres", "redis", "mail", "migrate", "api", "worker", "nginx"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


@pytest.mark.parametrize(
    ("name", "expected"), [("migrate", "db"), ("api", "serve"), ("worker", "worker")]
)
def test_each_storefront_service_runs_a_command_the_cli_accepts(name: str, expected: str) -> None:
    assert cli._parser().parse_args(kit.command(name)).command == expected


@pytest.mark.parametrize("name", STOREFRONT_SERVICES)
def test_every_variable_a_storefront_service_gets_is_a_real_setting(
    name: str, real_settings: set[str]
) -> None:
    variables = set(kit.service(name)["environment"])

    assert variables <= real_settings


@pytest.mark.parametrize("name", STOREFRONT_SERVICES)
def test_the_services_settings_make_a_safe_production_start(name: str) -> None:
    from entrypoints.guard_rails import production_warnings, refuse_unsafe_production

    settings = kit_settings(name)

    refuse_unsafe_production(settings)
    api = kit.command("api")
    assert production_warnings(settings, workers=int(api[api.index("--workers") + 1])) == []
    assert settings.is_production
    assert settings.trusted_proxies  # nginx's X-Forwarded-For is believed


def test_docker_stop_waits_longer_than_the_graceful_shutdown() -> None:
    timeout = kit_settings("api").shutdown_timeout_seconds

    for name in ("api", "worker"):
        grace = kit.service(name)["stop_grace_period"]
        assert grace.endswith("s")
        assert int(grace[:-1]) > timeout


# --- .env.example and nginx.conf ----------------------------------------------------------------


def test_every_variable_in_env_example_is_a_setting_or_used_by_compose(
    real_settings: set[str],
) -> None:
    names = set(kit.env_example())

    assert names
    assert names <= real_settings | kit.interpolated_variables()


def test_the_health_check_host_is_allowed_by_env_example() -> None:
    probe = " ".join(
        args for instruction, args in kit.dockerfile_instructions() if instruction == "HEALTHCHECK"
    )
    allowed = kit.env_example()["ALLOWED_HOSTS"].split(",")

    assert "http://127.0.0.1:8000/" in probe
    assert "127.0.0.1" in allowed


def test_nginx_conf_forwards_the_client_bounds_slow_clients_and_retries_elsewhere() -> None:
    text = kit.NGINX_CONF.read_text()

    for directive in (
        "upstream storefront",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "client_header_timeout",
        "client_body_timeout",
        "large_client_header_buffers",
        "client_max_body_size",
        "proxy_next_upstream error",
    ):
        assert directive in text


def test_nginx_conf_is_templated_only_for_ports_and_upstreams() -> None:
    original = kit.NGINX_CONF.read_text().splitlines()
    templated = kit.nginx_conf(18080, [18001, 18002]).splitlines()

    changed = [line for line in templated if line not in original]
    assert [line.strip() for line in changed] == [
        "server 127.0.0.1:18001 max_fails=1 fail_timeout=2s;",
        "server 127.0.0.1:18002 max_fails=1 fail_timeout=2s;",
        "listen 127.0.0.1:18080;",
    ]
