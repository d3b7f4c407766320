"""Courses, their curation states, and listings on platforms under the program's rules.

Course states: draft -> submitted -> approved | rejected; approved -> withdrawn.

Listing a course on a platform records the platform's commission. It is refused, naming the
rule, when: the provider is not approved; the course is not approved; the platform is
suspended; the price is above the training balance of the current scheme; the course is free
elsewhere; the price is above the same course's price outside the program; the commission is
above the platform's cap; an online course is not interactive; or the course is paid and its
provider shares an ownership group with the platform (the cross-selling ban after KPK found 250
of 1,895 courses affiliated). Refused attempts are recorded in the audit log as well.
"""

from __future__ import annotations

from store.services.courses.fields import CourseFields, commission_bp, course_fields
from store.services.courses.views import CourseFile, CourseView, ListingView, courses_of, get_course, listings_of
from store.services.courses.states import (
    CURATED_PROVIDER_STATES,
    OPEN_PROVIDER_STATES,
    approve_course,
    create_course,
    reject_course,
    submit_course,
    withdraw_course,
)
from store.services.courses.listings import (
    LISTING_RULES,
    MAX_COMMISSION_KEY,
    SCHEME_2023_BALANCE_IDR,
    ListingFacts,
    delist,
    list_course,
    list_course_within,
    listing_refusal,
    record_refusal,
    training_balance,
)
from store.services.courses.outliers import MIN_SIMILAR, OUTLIER_FACTOR_PCT, PRICED_STATES, Outlier, price_outliers

__all__ = [
    "CURATED_PROVIDER_STATES", "CourseFields", "CourseFile", "CourseView", "LISTING_RULES", "ListingFacts",
    "ListingView", "MAX_COMMISSION_KEY", "MIN_SIMILAR", "OPEN_PROVIDER_STATES", "OUTLIER_FACTOR_PCT", "Outlier",
    "PRICED_STATES", "SCHEME_2023_BALANCE_IDR", "approve_course", "commission_bp", "course_fields", "courses_of",
    "create_course", "delist", "get_course", "list_course", "list_course_within", "listing_refusal", "listings_of",
    "price_outliers", "record_refusal", "reject_course", "submit_course", "training_balance", "withdraw_course",
]
