"""The settings: every environment variable read in one place, the secret one never shown."""

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
