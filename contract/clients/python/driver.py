"""Drives a live Rollcall through the Python client that openapi-python-client
generated from openapi/openapi.json (3.1). Environment: ROLLCALL_URL,
ROLLCALL_TOKEN, ROLLCALL_ACCOUNT. Exits non-zero on any unexpected answer."""

import os
import uuid
from http import HTTPStatus

from rollcall_client import AuthenticatedClient
from rollcall_client.api.groups import v1_add_users_to_group, v1_create_group, v1_list_group_members
from rollcall_client.api.management_group_members import add_user_to_group, add_users_to_group
from rollcall_client.api.management_legacy_paths import legacy_add_users_to_group
from rollcall_client.api.users import v1_create_user
from rollcall_client.models import CreateGroupRequest, CreateUserRequest, Error, ErrorResponse, GroupResponse, MemberList, UserResponse

client = AuthenticatedClient(
    base_url=os.environ["ROLLCALL_URL"],
    token=os.environ["ROLLCALL_TOKEN"],
    headers={"X-Account-ID": os.environ["ROLLCALL_ACCOUNT"]},
    raise_on_unexpected_status=True,
)
run = uuid.uuid4().hex[:8]


def create_user(n: int) -> UserResponse:
    user = v1_create_user.sync(client=client, body=CreateUserRequest(email=f"py{n}-{run}@example.com", username=f"py{n}-{run}"))
    assert isinstance(user, UserResponse), user
    return user


group = v1_create_group.sync(client=client, body=CreateGroupRequest(name=f"Python client {run}"))
assert isinstance(group, GroupResponse), group
first = create_user(0)

# The single add, by email, to the group by name.
r = add_user_to_group.sync_detailed(group.name, first.email, client=client)
assert r.status_code == HTTPStatus.NO_CONTENT, r

# Five users by each bulk call.
for n, call in enumerate([add_users_to_group, legacy_add_users_to_group, v1_add_users_to_group]):
    ids = [create_user(10 * (n + 1) + i).id for i in range(5)]
    r = call.sync_detailed(group.id if call is v1_add_users_to_group else group.name, client=client, body=ids)
    expected = HTTPStatus.CREATED if call is v1_add_users_to_group else HTTPStatus.NO_CONTENT
    assert r.status_code == expected, (call.__name__, r)

members = v1_list_group_members.sync(group.id, client=client, limit=1000)
assert isinstance(members, MemberList), members
assert members.total == 16 and len(members.items) == 16, members

# A 101-item body comes back as the typed error of each surface.
too_many = [uuid.uuid4() for _ in range(101)]
error = v1_add_users_to_group.sync(group.id, client=client, body=too_many)
assert isinstance(error, ErrorResponse) and error.error_code == "VALIDATION_ERROR", error
error = add_users_to_group.sync(group.name, client=client, body=too_many)
assert isinstance(error, Error) and error.data["code"] == "VALIDATION_ERROR", error

print(f"python client: created 16 users and 1 group, added 1 + 3x5 members, read back {members.total}, typed 400s: ok")
