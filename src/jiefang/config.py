"""Settings from the environment (prefix ``JIEFANG_``); defaults run with nothing installed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIEFANG_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path('var/jiefang.sqlite3').resolve()}",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... in production",
    )
    redis_url: str | None = Field(default=None, description="redis://...; positions, events, leases shared by workers")
    redis_prefix: str = Field(default="jf", min_length=1, max_length=40, description="namespace of keys in Redis")
    lease_ttl_s: float = Field(default=5.0, ge=0.5, le=300, description="with Redis: a killed worker's background "
                               "jobs (dispatch deadlines, drills, ...) move to another worker within this")
    token_ttl_s: int = Field(default=12 * 3600, gt=0, description="lifetime of an API token")
    demo_password: str = Field(default="jiefang-demo", min_length=8)
    tile_url: str | None = Field(
        default=None, description="optional base map tile URL template; vector boundaries if unset"
    )
    tile_attribution: str | None = None
    timezone: str = Field(default="Asia/Shanghai", description="local time of shifts and rosters")
    qr_secret: str | None = Field(
        default=None, min_length=32, description="QR signing key; generated once and kept in the database if unset"
    )
    checkin_radius_m: float = Field(default=200.0, gt=0, le=5000, description="how far from a post a check-in may be")
    checkin_max_accuracy_m: float = Field(default=1000.0, gt=0)
    checkout_grace_s: int = Field(default=1800, ge=0, description="auto check-out this long after the shift ends")
    unrostered_duty_s: int = Field(default=8 * 3600, gt=0, description="auto check-out of duty outside any shift")
    fix_max_speed_mps: float = Field(default=60.0, gt=0, description="faster than this between fixes is absurd")
    fix_max_accuracy_m: float = Field(default=500.0, gt=0, description="coarser fixes do not move a member")
    track_every_s: float = Field(default=60.0, gt=0, description="keep a track point at least this often")
    track_moved_m: float = Field(default=100.0, gt=0, description="or when the member moved this far")
    track_retention_days: float = Field(default=90.0, gt=0, description="track points older than this are deleted")
    playbook_dir: Path | None = Field(default=None, description="folder of playbook YAML files; shipped ones if unset")
    mqtt_host: str | None = Field(default=None, description="MQTT broker of IoT alarms; no alarm intake if unset")
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_topic: str = Field(default="jiefang/alarms/#", min_length=1, max_length=200)
    mqtt_client_id: str = Field(default="jiefang-alarms", min_length=1, max_length=64)
    cap_sender: str = Field(default="jiefang", pattern=r"^[^\s,<&]{1,100}$",
                            description="CAP <sender> of exported alerts, e.g. the deployment's domain")
    coverage_mode: str = Field(default="run", pattern=r"^(walk|run|e_bike|car)$",
                               description="travel mode of coverage analytics (default model: speed × circuity)")
    coverage_k: int = Field(default=3, ge=1, le=20, description="coverage counts the k-th nearest on-duty responder")
    population_csv: Path | None = Field(default=None, description="lon,lat,population CSV weighting coverage demand")
    road_graph: Path | None = Field(default=None, description="road graph from `jiefang import roads`; coverage "
                                    "travel times follow the streets when set (placement keeps the default model)")
    index_weights_file: Path | None = Field(default=None, description="governance index weights YAML; shipped if unset")
    drills_per_day: int | None = Field(default=None, ge=0, le=100_000,
                                       description="drills a day; unset: 705 at city scale, scaled by units")
    drills_window_days: int = Field(default=14, ge=1, le=365, description="no unit drilled twice within this")
    drills_cycle_days: int = Field(default=45, ge=2, le=730, description="every unit drilled once per this")
    drills_muster_min: int = Field(default=2, ge=1, le=50, description="members at the post within 3 min to pass")
    drills_scenario: str = Field(default="public_order", pattern=r"^[a-z][a-z0-9_]{1,39}$",
                                 description="incident type a scheduled drill plays")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    voice_dir: Path = Field(default_factory=lambda: Path("var/voice").resolve(),
                            description="where push-to-talk transmissions are recorded")
    voice_max_tx_s: float = Field(default=60.0, gt=0, le=600, description="longest push-to-talk transmission")
    upload_dir: Path = Field(default_factory=lambda: Path("var/uploads").resolve(),
                             description="where hazard report photos are stored (local-disk photo store)")
    photo_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="largest photo accepted")
    photo_max_pixels: int = Field(default=40_000_000, gt=0, description="larger images are refused (pixel bombs)")
    photo_max_side_px: int = Field(default=2560, ge=320, description="stored photos are scaled down to this")
    report_max_photos: int = Field(default=6, ge=0, le=20, description="photos per hazard report")
    report_sla_hours: dict[str, float] = Field(
        default={"new": 2.0, "assigned": 8.0, "in_progress": 72.0},
        description="hours a report may stay in each open status before it is flagged overdue")
    hotspot_window_h: float = Field(default=24.0, gt=0, description="recent reports looked at by the hotspot scan")
    hotspot_baseline_days: float = Field(default=28.0, gt=0, description="history a cell's recent count is compared to")
    hotspot_h3_resolution: int = Field(default=8, ge=5, le=11, description="H3 cells of the scan (8: about 0.7 km²)")
    hotspot_min_reports: int = Field(default=4, ge=2, description="fewest related reports that make a hotspot")
    hotspot_false_alarm_rate: float = Field(default=0.01, gt=0, lt=1,
                                            description="chance per scan of an alert on background alone")
    rewards_rules_file: Path | None = Field(default=None, description="rewards rules YAML; shipped rules if unset")
    insurance_remind_days: int = Field(default=30, ge=1, le=365, description="remind this long before cover ends")
    page_size_max: int = Field(default=500, gt=0)
    idempotency_ttl_s: float = Field(default=48 * 3600, gt=0,
                                     description="how long an Idempotency-Key and its stored answer are kept")
    idempotency_lock_s: float = Field(default=60.0, gt=0,
                                      description="a key claimed this long ago without an answer may be taken over")
    login_ip_limit: int = Field(default=600, ge=1, description="login attempts per client IP per window")
    login_ip_window_s: float = Field(default=60.0, gt=0, description="window of the per-IP login limit")
    login_failures_max: int = Field(default=10, ge=1,
                                    description="failed logins of one username that lock it for the window")
    login_failure_window_s: float = Field(default=900.0, gt=0, description="window (and lockout) of failed logins")
    intake_ip_limit: int = Field(default=120, ge=1, description="reports (Open311, hazard) per client IP per window")
    intake_window_s: float = Field(default=60.0, gt=0, description="window of the per-IP intake limit")
    allow_demo_password: bool = Field(default=False, description="let `jiefang serve` start on PostgreSQL although "
                                      "the demo password is the well-known default")


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings()
