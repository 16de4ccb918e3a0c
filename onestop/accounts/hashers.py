"""Staff password hashing: Argon2id with parameters chosen by measurement (ADR 0026).

Django's ``Argon2PasswordHasher`` defaults to 100 MiB of memory and 8 lanes: on the 2-core
box of issue 10 one check took ~300 ms of CPU over 8 threads and up to 8.7 s under load,
stalling every other request of the web worker. OWASP's password storage cheat sheet
gives equivalent Argon2id settings; we take its first, m = 19 MiB, t = 2, p = 1 (~20 ms of
one core per check on this box, measured in docs/performance.md, "1,000 users").

The algorithm name stays ``argon2``, so stored hashes keep verifying with the parameters
they carry; Django re-hashes a password with these parameters at the next successful
sign-in (``must_update`` compares them), test: onestop/accounts/tests/test_hashers.py.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
