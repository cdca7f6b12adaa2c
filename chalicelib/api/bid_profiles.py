"""Sellers' bid profiles."""
from chalicelib.api.http import SELLERS, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import bid_profiles, eligibility

schemas = models("exchange", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="exchange")


@api.route("/bid-profiles", "POST", summary="Create a bid profile", roles=SELLERS, body=schemas.BidProfileRequest,
           response=schemas.BidProfileOut, status=201)
def create_profile(call: Call):
    return bid_profiles.view(bid_profiles.create_profile(call.principal, call.body.model_dump()), with_secret=True)


@api.route("/bid-profiles", "GET", summary="The caller's bid profiles", roles=SELLERS, query=schemas.PageQuery,
           response=schemas.BidProfileOut, paginated=True)
def list_profiles(call: Call):
    q = call.query
    return bid_profiles.list_profiles(call.principal, q.page, q.limit, q.next_token)


@api.route("/bid-profiles/{profile_id}", "GET", summary="A bid profile", roles=SELLERS, response=schemas.BidProfileOut,
           errors=(404,))
def get_profile(call: Call, profile_id: str):
    return bid_profiles.profile_with_usage(call.principal, profile_id)


@api.route("/bid-profiles/{profile_id}/eligibility", "GET", summary="Would the profile take such a call now, and if "
           "not, every reason why", roles=SELLERS, query=schemas.EligibilityQuery, response=schemas.EligibilityOut,
           errors=(404,))
def profile_eligibility(call: Call, profile_id: str):
    q = call.query
    return eligibility.eligibility(call.principal, profile_id, q.from_number, q.to_number)


@api.route("/bid-profiles/{profile_id}", "PUT", summary="Change a bid profile", roles=SELLERS,
           body=schemas.BidProfileUpdate, response=schemas.BidProfileOut, errors=(404, 409))
def update_profile(call: Call, profile_id: str):
    return bid_profiles.view(bid_profiles.update_profile(call.principal, profile_id,
                                                         call.body.model_dump(exclude_unset=True)))


@api.route("/bid-profiles/{profile_id}", "DELETE", summary="Delete a bid profile", roles=SELLERS, status=204,
           errors=(404, 409))
def delete_profile(call: Call, profile_id: str):
    bid_profiles.delete_profile(call.principal, profile_id)
    return Reply(status=204)
