# SPDX-License-Identifier: AGPL-3.0-or-later
"""Classroom Hub: lesson packs to tablets, results kept safe, synced upstream."""

__version__ = "0.1.0"
