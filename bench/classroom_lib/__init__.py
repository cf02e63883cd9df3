# SPDX-License-Identifier: AGPL-3.0-or-later
"""The classroom benchmark: tablets, the servers they load, and the report.

``bench/classroom`` is the entry point. The modules here are split by what
they stand for: ``client`` (one HTTP connection and the figures it keeps),
``plan`` (what a class fetches), ``tablets``, ``streams`` and ``burst`` (the
load, run as child processes so that they can run inside a network
namespace), ``machine`` (limits, installs, process figures), ``servers``
(the hub, Kolibri and nginx), ``wrk`` (raw request rates), ``scenarios``
(one measured step each), ``report`` and ``run`` (the whole comparison).

Nothing here sends a packet beyond 127.0.0.1 or a network namespace the
bench creates; every loop ends by a count or a deadline.
"""
