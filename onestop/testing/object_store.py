"""A real S3-compatible object store for tests: moto's server (``moto_server``, a dev
dependency) started as a child process on a free port, spoken to over HTTP (ADR 0027)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onestop.testing.processes import free_port_block

ACCESS_KEY = "onestop-test"
SECRET_KEY = "onestop-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class ObjectStore:
    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to use the store as its storage (ONESTOP_STORAGE_URL)."""
        return {
            "ONESTOP_STORAGE_URL": (
                f"s3://{self.bucket}/media?endpoint_url={self.endpoint}"
                f"&region_name={REGION}&addressing_style=path"
            ),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def client(self) -> Any:
        import boto3  # type: ignore[import-untyped]

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket, read straight from the store."""
        client = self.client()
        listed = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
            for o in listed
        }


def _moto_command(port: int) -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    found = str(exe) if exe.exists() else shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server is not installed (dev dependency moto[server])")
    return [found, "-H", "127.0.0.1", "-p", str(port)]


@contextlib.contextmanager
def moto_store(bucket: str = "onestop-files", log: Path | None = None) -> Iterator[ObjectStore]:
    """moto_server on a free port with one empty private bucket; stopped on exit."""
    port = free_port_block(1)
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(_moto_command(port), stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        store = ObjectStore(endpoint, bucket)
        store.client().create_bucket(Bucket=bucket)
        yield store
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]
