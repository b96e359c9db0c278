"""The input of the CISO report (HTML and PDF): the deploy-time report and the exposures behind it."""

from __future__ import annotations

from typing import Any

from pipeline.exports.common import Gathered, Options, vuln_details
from pipeline.exposures.reports import deploy_time_from_inputs, report_inputs
from pipeline.plan import plan_from_inputs
from reports.deploy_time import assess_exposures
from reports.exports.inputs import CisoInput
from reports.exports.interface import Exporter
from store.db import Database


def gather(db: Database, org: str, options: Options, exporter: Exporter[Any]) -> Gathered:
    inputs = report_inputs(db, org, options.as_of)
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    report = deploy_time_from_inputs(inputs)
    plan = plan_from_inputs(inputs, assessed)
    data = CisoInput(
        org, report, assessed, vuln_details(inputs), systems=len(inputs.systems), actions=plan.actions
    )
    return Gathered(data, inputs.as_of)
