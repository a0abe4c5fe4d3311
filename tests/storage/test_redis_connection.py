"""Connecting to Redis: ACL user and password, TLS options, config sections."""
import pytest
import redis

from starreid.app.config import ConfigError, load_config
from starreid.app.verbs.gallery import redis_kwargs
from starreid.storage.connect import connect


def test_acl_user_and_password(redis_server, tmp_path):
    admin = connect(redis_server.url, socket_timeout_s=5.0)
    admin.acl_setuser("gallery", enabled=True, passwords=["+s3cret"], keys=["starreid:*"], commands=["+@all"])
    ok = connect(redis_server.url, socket_timeout_s=5.0, username="gallery", password="s3cret")
    ok.set("starreid:x", "1")
    with pytest.raises(redis.ResponseError):  # the ACL confines the user to its key prefix
        ok.set("other:x", "1")
    with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
        connect(redis_server.url, socket_timeout_s=5.0, username="gallery", password="wrong").ping()
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"cameras: [{{id: c, source: /dev/null, modality: rgb}}]\n"
                        f"redis: {{url: '{redis_server.url}', username: gallery, password_file: '{secret}'}}\n")
    kwargs = redis_kwargs(load_config(cfg_file).redis)
    assert connect(redis_server.url, **kwargs).get("starreid:x") == b"1"


def test_tls_options_reach_the_connection():
    client = connect("redis://10.0.0.1:6380/0", socket_timeout_s=5.0, tls=True, tls_ca_file="/etc/ca.pem", tls_verify="required",
                     password="p")
    kw = client.connection_pool.connection_kwargs
    assert client.connection_pool.connection_class is redis.SSLConnection
    assert kw["ssl_ca_certs"] == "/etc/ca.pem" and kw["password"] == "p"
    assert connect("rediss://h:1/0", socket_timeout_s=5.0).connection_pool.connection_class is redis.SSLConnection
    assert connect("redis://h:1/0", socket_timeout_s=5.0).connection_pool.connection_class is redis.Connection


def test_config_sections(tmp_path):
    assert load_config("configs/starreid.yaml").gallery.thresholds.rgb_ir == 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras: [{id: c, source: x, modality: rgb}]\n"
                   "gallery: {thresholds: {rgb_rgb: 2}, exemplar_per_identity: 3}\nredis: {url: 'http://x'}\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    text = str(err.value)
    assert "gallery.thresholds.rgb_rgb" in text and "exemplar_per_identity" in text and "redis.url" in text
