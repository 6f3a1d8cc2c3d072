"""Evaluation: IR metrics per direction, the Multi scenario, English inclination."""
