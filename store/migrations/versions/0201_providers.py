"""providers: curation scheme version 1, reasoned decisions, unique NIB, curator affiliation

Revision ID: 0201
Revises: 0101
Create Date: 2026-11-30
"""

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0201"
down_revision = "0101"
branch_labels = None
depends_on = None


def _indicator(code: str, weight: int, en: str, id_: str) -> dict:
    return {"code": code, "weight": weight, "label": {"en": en, "id": id_}}


# Version 1 of the curation scheme, as the office starts with it. An admin changes it by writing
# a new version (`mitra curation scheme set`); this copy is frozen here on purpose, so that the
# migration never depends on application code that may change later.
SCHEME_V1 = {
    "due_diligence": {
        "threshold_centi": 300,
        "indicators": [
            _indicator("legal_standing", 3, "Legal entity, deed and licence in order",
                       "Badan hukum, akta dan izin usaha sesuai"),
            _indicator("tax_compliance", 2, "Tax number and tax status valid", "NPWP dan status wajib pajak valid"),
            _indicator("track_record", 2, "Track record in delivering training", "Rekam jejak penyelenggaraan pelatihan"),
            _indicator("financial_health", 1, "Financial soundness", "Kesehatan keuangan"),
            _indicator("references", 1, "References from clients or partners", "Referensi dari klien atau mitra"),
        ],
    },
    "governance": {
        "threshold_centi": 250,
        "indicators": [
            _indicator("organisation", 2, "Clear organisation and responsibilities",
                       "Struktur organisasi dan tanggung jawab jelas"),
            _indicator("quality_assurance", 3, "Quality assurance of training", "Penjaminan mutu pelatihan"),
            _indicator("trainer_qualification", 3, "Qualified trainers", "Kualifikasi pelatih"),
            _indicator("complaints_handling", 2, "Complaints handling for participants",
                       "Penanganan pengaduan peserta"),
            _indicator("data_protection", 2, "Protection of participants' data", "Pelindungan data peserta"),
        ],
    },
    "course_assessment": {
        "threshold_centi": 300,
        "indicators": [
            _indicator("labour_relevance", 3, "Relevance to the labour market", "Relevansi dengan pasar kerja"),
            _indicator("learning_objectives", 2, "Clear learning objectives", "Tujuan pembelajaran jelas"),
            _indicator("materials", 3, "Quality of materials", "Mutu materi"),
            _indicator("assessment_method", 2, "Assessment of participants", "Metode evaluasi peserta"),
            _indicator("interactivity", 2, "Interaction between trainer and participants",
                       "Interaksi pelatih dan peserta"),
        ],
    },
    "facilities": {
        "threshold_centi": 250,
        "indicators": [
            _indicator("premises", 2, "Training premises", "Tempat pelatihan"),
            _indicator("equipment", 3, "Equipment for practice", "Peralatan praktik"),
            _indicator("safety", 2, "Health and safety", "Kesehatan dan keselamatan kerja"),
            _indicator("accessibility", 1, "Accessibility for people with disabilities",
                       "Aksesibilitas bagi penyandang disabilitas"),
        ],
    },
}

CHECKS = [
    ("provider", "ck_provider_delivers_somehow", "offers_online OR offers_offline"),
    ("provider", "ck_provider_decision_has_reason", "state NOT IN ('rejected', 'suspended') OR state_reason <> ''"),
    ("provider_document", "ck_provider_document_invalid_has_note", "status <> 'invalid' OR note <> ''"),
    ("course", "ck_course_decision_has_reason", "state NOT IN ('rejected', 'withdrawn') OR state_reason <> ''"),
    ("course_listing", "ck_course_listing_delisting_has_reason", "status <> 'delisted' OR status_reason <> ''"),
]


def upgrade() -> None:
    with op.batch_alter_table("course_listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("course_listing", schema=None) as batch_op:
        batch_op.alter_column("status_reason", server_default=None)

    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.create_index("ix_course_category_mode", ["category", "mode"], unique=False)

    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ownership_group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_operator_ownership_group_id_ownership_group"), "ownership_group",
            ["ownership_group_id"], ["id"],
        )

    with op.batch_alter_table("provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_nib"))
        batch_op.create_unique_constraint(batch_op.f("uq_provider_nib"), ["nib"])

    for table, name, condition in CHECKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(name), condition)

    scheme = sa.table(
        "assessment_scheme",
        sa.column("version", sa.Integer()),
        sa.column("stages", sa.Text()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM assessment_scheme WHERE version = 1")).scalar_one():
        return  # upgraded again after a downgrade: version 1 stayed (see downgrade)
    created = dt.datetime(2020, 4, 1)
    if bind.dialect.name != "sqlite":
        created = created.replace(tzinfo=dt.UTC)
    op.bulk_insert(scheme, [{"version": 1, "stages": json.dumps(SCHEME_V1, sort_keys=True), "created_at": created}])


def downgrade() -> None:
    # The scheme row stays: assessments may refer to it, and 0002's schema holds it as well.
    for table, name, _condition in reversed(CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(name), type_="check")

    with op.batch_alter_table("provider", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_provider_nib"), type_="unique")
        batch_op.create_index(batch_op.f("ix_provider_nib"), ["nib"], unique=False)

    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_operator_ownership_group_id_ownership_group"), type_="foreignkey")
        batch_op.drop_column("ownership_group_id")

    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_index("ix_course_category_mode")

    with op.batch_alter_table("course_listing", schema=None) as batch_op:
        batch_op.drop_column("status_reason")
