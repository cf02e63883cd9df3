# SPDX-License-Identifier: AGPL-3.0-or-later
"""Baseline and endline checks: what a child knows at the start and the end.

``records`` says what an assessment answer adds to a result record (the
results store checks it); ``checks`` reads an assessment pack's checks;
``windows`` keeps the baseline and endline windows teachers open and the
attempts children make in them; ``scoring`` turns answers into scores
(pure functions); ``outcomes`` gathers the scores of a class or the whole
hub; ``statements`` shapes them as xAPI; ``api`` and ``pages`` (with
``charts``) are the tablet's and the teacher's sides; ``report`` is the
national team's CSV.

This file imports nothing, so ``hub.results`` may use ``records`` without a
cycle. Each module says what is safe from several threads.
"""
