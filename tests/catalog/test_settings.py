"""The settings: every environment variable read in one place, the secret one never shown."""

import pytest

from catalog.settings import S3Settings, Settings


def test_settings_are_read_from_a_mapping_with_defaults_for_what_is_unset():
    env = {
        "CORPUSFABRIEK_ROOT": "s3://bucket/prefix",
        "CORPUSFABRIEK_SOURCES": "/specs/a:/specs/b:",
        "CORPUSFABRIEK_DROP_FOLDERS": "/drops",
        "CORPUSFABRIEK_ANONYMISATION_KEY": "een-geheime-sleutel-van-genoeg-lengte",
        "CORPUSFABRIEK_NAME_MODEL": " none ",
        "XDG_CACHE_HOME": "/cache",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:8333",
        "AWS_SECRET_ACCESS_KEY": "geheim",
    }
    settings = Settings.read(env)
    assert settings.root == "s3://bucket/prefix"
    assert settings.sources == ("/specs/a", "/specs/b") and settings.drop_folders == ("/drops",)
    assert settings.name_model == "none" and settings.cache_dir == "/cache/corpusfabriek"
    assert settings.s3 == S3Settings(endpoint_url="http://127.0.0.1:8333", secret_access_key="geheim")
    assert "geheim" not in repr(settings)  # neither the key nor the S3 secret
    assert Settings.read({}) == Settings()


def test_the_own_cache_variable_wins_over_the_user_cache_folder():
    env = {"CORPUSFABRIEK_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/cache"}
    assert Settings.read(env).cache_dir == "/srv/cache"


def test_data_docs_settings_have_defaults_and_a_malformed_count_fails_where_it_is_used():
    assert Settings.read({}).data_docs_keep == 10 and Settings.read({}).data_docs_url is None
    settings = Settings.read(
        {"CORPUSFABRIEK_DATA_DOCS_KEEP": " 3 ", "CORPUSFABRIEK_DATA_DOCS_URL": "http://127.0.0.1:8765/"}
    )
    assert (settings.data_docs_keep, settings.data_docs_url) == (3, "http://127.0.0.1:8765")
    for wrong in ("0", "-1", "drie", "2.5"):
        malformed = Settings.read({"CORPUSFABRIEK_DATA_DOCS_KEEP": wrong})  # reading the rest still works
        with pytest.raises(ValueError, match="CORPUSFABRIEK_DATA_DOCS_KEEP must be a whole number of at least 1"):
            _ = malformed.data_docs_keep


def test_shard_settings_name_the_executor_and_a_wrong_value_fails_only_where_shards_run():
    from catalog.settings import Settings

    default = Settings.read({}).shards.check()
    assert (default.executor, default.workers, default.retries) == ("local", 1, 1)
    slurm = Settings.read(
        {
            "CORPUSFABRIEK_EXECUTOR": "slurm",
            "CORPUSFABRIEK_SLURM_WORK_DIR": "/shared/slurm",
            "CORPUSFABRIEK_SLURM_ARGS": "--qos=normal --account=gptnl",
            "CORPUSFABRIEK_SHARD_RETRIES": "0",
            "CORPUSFABRIEK_SLURM_PENDING_TIMEOUT": "3600",
        }
    ).shards.check()
    assert slurm.slurm_args == ("--qos=normal", "--account=gptnl") and slurm.retries == 0
    assert slurm.slurm_pending_timeout == 3600 and default.slurm_pending_timeout is None
    for env, variable in (
        ({"CORPUSFABRIEK_SLURM_PENDING_TIMEOUT": "een uur"}, "CORPUSFABRIEK_SLURM_PENDING_TIMEOUT"),
        ({"CORPUSFABRIEK_SLURM_PENDING_TIMEOUT": "0"}, "CORPUSFABRIEK_SLURM_PENDING_TIMEOUT"),
        ({"CORPUSFABRIEK_WORKERS": "twee"}, "CORPUSFABRIEK_WORKERS"),
        ({"CORPUSFABRIEK_SHARD_RETRIES": "-1"}, "CORPUSFABRIEK_SHARD_RETRIES"),
        ({"CORPUSFABRIEK_EXECUTOR": "k8s"}, "CORPUSFABRIEK_EXECUTOR"),
        ({"CORPUSFABRIEK_EXECUTOR": "slurm"}, "CORPUSFABRIEK_SLURM_WORK_DIR"),
    ):
        settings = Settings.read(env)  # reading never fails: modules read the settings on import
        with pytest.raises(ValueError, match=variable):
            settings.shards.check()
