//! The SCIM 2.0 surface (`/scim/v2`, RFC 7643 and 7644) for identity
//! providers: Users, Groups, `/.search`, and the discovery documents. The
//! account comes from the credential; a `scim` API key is accepted as it is
//! as the bearer token. Bodies are `application/scim+json` (plain
//! `application/json` is accepted too), errors the SCIM `Error` message.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ScimError, Surface, SurfaceDocs};
use super::{timestamp, Caller};
use crate::db::scim::Window;
use crate::domain::scim::filter::{self, AttrPath, Filter};
use crate::domain::scim::{
    self as model, canonical_resource, member_values, patch as scim_patch, scim_error, Kind, ScimGroup, ScimUser, LIST_RESPONSE,
    SEARCH_REQUEST,
};
use crate::engine::scim::{GroupResource, Listing, UserResource};
use crate::error::{Error, ErrorKind};
use crate::service::Service;

pub const PREFIX: &str = "/scim/v2";
pub const MEDIA_TYPE: &str = "application/scim+json";
/// Largest request body (a PATCH of [`MAX_MEMBERS_PER_REQUEST`] members fits).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Default and largest `count`.
pub const DEFAULT_COUNT: i64 = 100;
pub const MAX_COUNT: i64 = 1000;

pub const SURFACE: Surface =
    Surface::new(false, ScimError::body, SurfaceDocs { error_schema: "ScimError", operation_prefix: "scim_", tag: Some("SCIM 2.0") })
        .with_direct_keys()
        .with_content_type(MEDIA_TYPE);

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(BODY_LIMIT))
        .service(service_provider_config)
        .service(list_resource_types)
        .service(get_resource_type)
        .service(list_schemas)
        .service(get_schema)
        .service(search_all)
        .service(search_users)
        .service(list_users)
        .service(create_user)
        .service(get_user)
        .service(replace_user)
        .service(patch_user)
        .service(delete_user)
        .service(search_groups)
        .service(list_groups)
        .service(create_group)
        .service(get_group)
        .service(replace_group)
        .service(patch_group)
        .service(delete_group);
}

// Requests and answers.

/// A User resource as a client sends it (attribute names match
/// case-insensitively; attributes Rollcall does not store are ignored).
#[derive(ToSchema)]
#[schema(as = ScimUserRequest)]
#[allow(dead_code)]
pub struct ScimUserRequest {
    /// Must list `urn:ietf:params:scim:schemas:core:2.0:User`
    #[schema(example = json!([model::USER_SCHEMA]))]
    schemas: Vec<String>,
    /// Unique in the account (case-insensitively)
    #[schema(min_length = 1, max_length = 256, example = "ann.lee@contoso.com")]
    #[schema(rename = "userName")]
    user_name: String,
    name: Option<ScimName>,
    #[schema(rename = "displayName", min_length = 1, max_length = 256)]
    display_name: Option<String>,
    /// Exactly one: Rollcall keeps one email per user
    #[schema(min_items = 1, max_items = 1)]
    emails: Vec<ScimEmail>,
    /// False suspends the user; left out: true on create, unchanged on replace
    active: Option<bool>,
    #[schema(rename = "externalId", min_length = 1, max_length = 256)]
    external_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimName {
    #[schema(rename = "givenName", max_length = 256)]
    given_name: Option<String>,
    #[schema(rename = "familyName", max_length = 256)]
    family_name: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimEmail {
    #[schema(format = "email", min_length = 3, max_length = 320, example = "ann@contoso.com")]
    value: String,
    /// `work`, `home`, `other`, or another label
    #[serde(rename = "type")]
    #[schema(rename = "type", max_length = 256, example = "work")]
    kind: Option<String>,
    primary: Option<bool>,
}

/// A Group resource as a client sends it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimGroupRequest {
    /// Must list `urn:ietf:params:scim:schemas:core:2.0:Group`
    #[schema(example = json!([model::GROUP_SCHEMA]))]
    schemas: Vec<String>,
    /// Unique in the account (case-insensitively)
    #[schema(rename = "displayName", min_length = 1, max_length = 255, example = "Engineering")]
    display_name: String,
    /// Ids naming no user of the account are ignored; at most 10,000
    #[schema(max_items = 10000)]
    members: Option<Vec<ScimMember>>,
    #[schema(rename = "externalId", min_length = 1, max_length = 256)]
    external_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimMember {
    /// A user id
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    value: String,
}

/// A PatchOp (RFC 7644 §3.5.2).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimPatchRequest {
    /// Must list `urn:ietf:params:scim:api:messages:2.0:PatchOp`
    #[schema(example = json!([model::PATCH_OP]))]
    schemas: Vec<String>,
    #[schema(rename = "Operations", min_items = 1, max_items = 1000)]
    operations: Vec<ScimPatchOperation>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimPatchOperation {
    /// `add`, `remove` or `replace`, in any case
    #[schema(example = "add", pattern = "^([Aa][Dd][Dd]|[Rr][Ee][Mm][Oo][Vv][Ee]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])$")]
    op: String,
    /// An attribute path, optionally with a value filter: `members`, `name.givenName`, `members[value eq "…"]`, `emails[type eq "work"].value`
    #[schema(example = "members")]
    path: Option<String>,
    /// The value, of the attribute's type (an object of attributes when there is no path)
    #[schema(example = json!([{"value": "2819c223-7f76-453a-919d-413861904646"}]))]
    value: Option<Value>,
}

/// A SearchRequest (RFC 7644 §3.4.3): the listing's query parameters as a body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScimSearchRequest {
    /// Must list `urn:ietf:params:scim:api:messages:2.0:SearchRequest`
    #[schema(example = json!([SEARCH_REQUEST]))]
    schemas: Vec<String>,
    #[schema(example = "userName sw \"a\"")]
    filter: Option<String>,
    #[schema(rename = "startIndex")]
    start_index: Option<i64>,
    count: Option<i64>,
    #[schema(rename = "sortBy")]
    sort_by: Option<String>,
    #[schema(rename = "sortOrder", pattern = "^(ascending|descending)?$")]
    sort_order: Option<String>,
    attributes: Option<Vec<String>>,
    #[schema(rename = "excludedAttributes")]
    excluded_attributes: Option<Vec<String>>,
}

/// A request body of at most [`BODY_LIMIT`] bytes; more is 413 in the SCIM body.
pub struct Body(web::Bytes);

impl std::ops::Deref for Body {
    type Target = web::Bytes;
    fn deref(&self) -> &web::Bytes {
        &self.0
    }
}

impl actix_web::FromRequest for Body {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(Body).map_err(|e| {
                let error = if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Error::new(ErrorKind::PayloadTooLarge, format!("The body is larger than {BODY_LIMIT} bytes"))
                } else {
                    scim_error("invalidSyntax", "The body could not be read").developer(e.to_string())
                };
                actix_web::Error::from(error)
            })
        })
    }
}

/// The JSON body of a request sent as `application/scim+json` or `application/json`.
fn json_body(req: &HttpRequest, body: &web::Bytes) -> Result<Value, Error> {
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != MEDIA_TYPE && essence != "application/json" {
        return Err(Error::new(ErrorKind::UnsupportedMediaType, "Send the body as application/scim+json (or application/json)"));
    }
    serde_json::from_slice(body).map_err(|e| scim_error("invalidSyntax", "The body is not valid JSON").developer(e.to_string()))
}

fn scim_response(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type(MEDIA_TYPE).body(body.to_string())
}

/// The base URL resources are located under, as the client reached it.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}{PREFIX}", info.scheme(), info.host())
}

/// `If-Match`, when sent.
fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
}

fn meta(kind: Kind, base: &str, id: &str, created: chrono::NaiveDateTime, modified: chrono::NaiveDateTime, version: String) -> Value {
    json!({
        "resourceType": kind.name(),
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": format!("{base}/{}/{id}", kind.endpoint()),
        "version": version,
    })
}

fn user_json(r: &UserResource, base: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([model::USER_SCHEMA]));
    out.insert("id".into(), json!(r.user.id.to_string()));
    out.extend(r.scim().attributes());
    if !r.groups.is_empty() {
        let groups: Vec<Value> = r
            .groups
            .iter()
            .map(|(id, name)| json!({"value": id.to_string(), "$ref": format!("{base}/Groups/{id}"), "display": name, "type": "direct"}))
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    let id = r.user.id.to_string();
    out.insert("meta".into(), meta(Kind::User, base, &id, r.user.created_at, r.user.updated_at, r.version()));
    out
}

fn group_json(r: &GroupResource, base: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([model::GROUP_SCHEMA]));
    out.insert("id".into(), json!(r.group.id.to_string()));
    out.extend(r.scim().attributes());
    if !r.members.is_empty() {
        let members: Vec<Value> =
            r.members.iter().map(|id| json!({"value": id.to_string(), "$ref": format!("{base}/Users/{id}"), "type": "User"})).collect();
        out.insert("members".into(), Value::Array(members));
    }
    let id = r.group.id.to_string();
    out.insert("meta".into(), meta(Kind::Group, base, &id, r.group.created_at, r.group.updated_at, r.version()));
    out
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9): `id` and `schemas` are always returned.
#[derive(Debug, Clone, Default)]
struct Projection {
    only: Option<Vec<AttrPath>>,
    except: Vec<AttrPath>,
}

impl Projection {
    fn parse(kind: Kind, attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, Error> {
        let list = |raw: Option<&str>| -> Result<Option<Vec<AttrPath>>, Error> {
            let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ok(None) };
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let p = p.strip_prefix(kind.schema()).and_then(|r| r.strip_prefix(':')).unwrap_or(p);
                    AttrPath::parse(p).map_err(|e| scim_error("invalidValue", e))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        Ok(Self { only: list(attributes)?, except: list(excluded)?.unwrap_or_default() })
    }

    fn shows(&self, name: &str) -> bool {
        let listed = |paths: &[AttrPath]| paths.iter().any(|p| p.is(name) && p.sub.is_none());
        match &self.only {
            Some(only) => only.iter().any(|p| p.is(name)),
            None => !listed(&self.except),
        }
    }

    fn apply(&self, mut resource: Map<String, Value>) -> Map<String, Value> {
        let always = ["id", "schemas"];
        resource.retain(|name, _| always.contains(&name.as_str()) || self.shows(name));
        // Sub-attributes named in `attributes` keep only those; in `excludedAttributes` drop them.
        let keep_subs = |name: &str| -> Option<Vec<String>> {
            let only = self.only.as_ref()?;
            if only.iter().any(|p| p.is(name) && p.sub.is_none()) {
                return None;
            }
            Some(only.iter().filter(|p| p.is(name)).filter_map(|p| p.sub.clone()).collect())
        };
        for (name, value) in resource.iter_mut() {
            let drop: Vec<String> = self.except.iter().filter(|p| p.is(name)).filter_map(|p| p.sub.clone()).collect();
            let keep = keep_subs(name);
            let trim = |o: &mut Map<String, Value>| {
                o.retain(|k, _| {
                    keep.as_ref().is_none_or(|keep| keep.iter().any(|s| s.eq_ignore_ascii_case(k)))
                        && !drop.iter().any(|s| s.eq_ignore_ascii_case(k))
                })
            };
            match value {
                Value::Object(o) => trim(o),
                Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(trim),
                _ => {}
            }
        }
        resource
    }
}

/// A listing's parameters, from the query or a `SearchRequest` body.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// A SCIM filter (RFC 7644 §3.4.2.2): every operator (`eq ne co sw ew gt ge lt le pr`), `and`/`or`/`not`, grouping, value paths (`emails[type eq "work"]`)
    pub filter: Option<String>,
    /// 1-based index of the first result (less than 1 is 1)
    pub start_index: Option<i64>,
    /// Results per page, at most 1000 (default 100; negative is 0)
    pub count: Option<i64>,
    /// Attribute to sort by: `userName`, `displayName`, `name.givenName`, `name.familyName`, `emails`, `externalId`, `id`, `meta.created`, `meta.lastModified`
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending`
    #[param(pattern = "^(ascending|descending)?$")]
    pub sort_order: Option<String>,
    /// Only these attributes (comma-separated; `id` and `schemas` always)
    pub attributes: Option<String>,
    /// All but these attributes (comma-separated)
    pub excluded_attributes: Option<String>,
}

impl ListQuery {
    fn from_search(body: &Value) -> Result<Self, Error> {
        let o = model::message(body, SEARCH_REQUEST, "a SearchRequest")?;
        let get = |name: &str| model::field(o, name);
        let text = |name: &str| -> Result<Option<String>, Error> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !name.ends_with("ttributes") => Ok(Some(s.clone())),
                Some(Value::Array(items)) if name.ends_with("ttributes") => {
                    let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    parts.map(|p| Some(p.join(","))).ok_or_else(|| scim_error("invalidValue", format!("{name} must list strings")))
                }
                Some(_) if name.ends_with("ttributes") => Err(scim_error("invalidValue", format!("{name} must be an array of strings"))),
                Some(_) => Err(scim_error("invalidValue", format!("{name} must be a string"))),
            }
        };
        let number = |name: &str| -> Result<Option<i64>, Error> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| scim_error("invalidValue", format!("{name} must be an integer"))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: number("startIndex")?,
            count: number("count")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
        })
    }

    fn listing(&self, kind: Option<Kind>) -> Result<Listing, Error> {
        let filter: Option<Filter> = self.filter.as_deref().filter(|f| !f.trim().is_empty()).map(filter::parse).transpose()?;
        let descending = match self.sort_order.as_deref() {
            None | Some("") | Some("ascending") => false,
            Some("descending") => true,
            Some(_) => return Err(scim_error("invalidValue", "sortOrder must be ascending or descending")),
        };
        let sort = match (self.sort_by.as_deref().filter(|s| !s.trim().is_empty()), kind) {
            (Some(raw), Some(kind)) => {
                let raw = raw.strip_prefix(kind.schema()).and_then(|r| r.strip_prefix(':')).unwrap_or(raw);
                Some((AttrPath::parse(raw).map_err(|e| scim_error("invalidValue", e))?, descending))
            }
            _ => None,
        };
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT);
        Ok(Listing { filter, sort, window: Window { offset: start - 1, limit: count } })
    }

    fn projection(&self, kind: Kind) -> Result<Projection, Error> {
        Projection::parse(kind, self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

fn list_response(total: i64, start: i64, resources: Vec<Value>) -> HttpResponse {
    let body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    scim_response(actix_web::http::StatusCode::OK, &body)
}

fn one(status: actix_web::http::StatusCode, body: Map<String, Value>, projection: &Projection) -> HttpResponse {
    let version = body.get("meta").and_then(|m| m.get("version")).and_then(Value::as_str).map(str::to_owned);
    let location = body.get("meta").and_then(|m| m.get("location")).and_then(Value::as_str).map(str::to_owned);
    let mut response = HttpResponse::build(status);
    response.content_type(MEDIA_TYPE);
    if let Some(v) = version {
        response.insert_header((header::ETAG, v));
    }
    if status == actix_web::http::StatusCode::CREATED {
        if let Some(l) = location {
            response.insert_header((header::LOCATION, l));
        }
    }
    response.body(Value::Object(projection.apply(body)).to_string())
}

fn projection_of(req: &HttpRequest, kind: Kind) -> Result<Projection, Error> {
    query_of(req)?.projection(kind)
}

fn query_of(req: &HttpRequest) -> Result<ListQuery, Error> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| scim_error("invalidValue", "A query parameter is not valid").developer(e.to_string()))
}

async fn users_listing(service: &Service, caller: &Caller, req: &HttpRequest, q: ListQuery) -> Result<HttpResponse, Error> {
    let listing = q.listing(Some(Kind::User))?;
    let projection = q.projection(Kind::User)?;
    let start = listing.window.offset + 1;
    let (items, total) = service.scim_list_users(caller, listing).await?;
    let base = base_url(req);
    let resources = items.iter().map(|r| Value::Object(projection.apply(user_json(r, &base)))).collect();
    Ok(list_response(total, start, resources))
}

async fn groups_listing(service: &Service, caller: &Caller, req: &HttpRequest, q: ListQuery) -> Result<HttpResponse, Error> {
    let listing = q.listing(Some(Kind::Group))?;
    let projection = q.projection(Kind::Group)?;
    let start = listing.window.offset + 1;
    let with_members = projection.shows("members");
    let (items, total) = service.scim_list_groups(caller, listing, with_members).await?;
    let base = base_url(req);
    let resources = items.iter().map(|r| Value::Object(projection.apply(group_json(r, &base)))).collect();
    Ok(list_response(total, start, resources))
}

// Discovery.

fn discovery(body: Value) -> HttpResponse {
    scim_response(actix_web::http::StatusCode::OK, &body)
}

fn service_provider_config_json(base: &str) -> Value {
    // The configuration has no field for the members-per-request limit (and
    // the conformance tools refuse extensions): its documentation states it.
    let docs = base.strip_suffix(PREFIX).map_or_else(|| base.to_owned(), |root| format!("{root}{}#/SCIM%202.0", super::docs::SWAGGER_PATH));
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": docs,
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A Rollcall access token, or an API key made with purpose scim sent as it is",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

fn resource_types_json(base: &str) -> Vec<Value> {
    [Kind::User, Kind::Group]
        .into_iter()
        .map(|k| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": k.name(),
                "name": k.name(),
                "endpoint": format!("/{}", k.endpoint()),
                "description": format!("{} of the credential's account", k.endpoint()),
                "schema": k.schema(),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", k.name())}
            })
        })
        .collect()
}

fn attr(name: &str, kind: &str, description: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "description": description, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"
    });
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

/// The attributes Rollcall stores and echoes back, and nothing else.
fn schemas_json(base: &str) -> Vec<Value> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": model::USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            attr("userName", "string", "Unique identifier for the user in the account (compared case-insensitively)", json!({"required": true, "uniqueness": "server"})),
            attr("name", "complex", "The user's name", json!({"subAttributes": [
                attr("givenName", "string", "Given name", json!({})),
                attr("familyName", "string", "Family name", json!({})),
            ]})),
            attr("displayName", "string", "Name for display", json!({})),
            attr("emails", "complex", "The user's one email address (Rollcall keeps exactly one)", json!({"multiValued": true, "required": true, "subAttributes": [
                attr("value", "string", "Email address", json!({"required": true})),
                attr("type", "string", "Label of the address", json!({"canonicalValues": ["work", "home", "other"]})),
                attr("primary", "boolean", "Whether it is the primary address", json!({})),
            ]})),
            attr("active", "boolean", "False suspends the user (as the management API's suspend does)", json!({"required": true})),
            attr("groups", "complex", "The groups the user is a direct member of", json!({"multiValued": true, "mutability": "readOnly", "subAttributes": [
                attr("value", "string", "Group id", json!({"mutability": "readOnly"})),
                attr("$ref", "reference", "Group URI", json!({"mutability": "readOnly", "referenceTypes": ["Group"]})),
                attr("display", "string", "Group name", json!({"mutability": "readOnly"})),
                attr("type", "string", "Always direct", json!({"mutability": "readOnly", "canonicalValues": ["direct"]})),
            ]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", model::USER_SCHEMA)}
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": model::GROUP_SCHEMA,
        "name": "Group",
        "description": "Group",
        "attributes": [
            attr("displayName", "string", "Group name, unique in the account (compared case-insensitively)", json!({"required": true, "uniqueness": "server"})),
            attr("members", "complex", "The users in the group (ids naming no user of the account are ignored)", json!({"multiValued": true, "subAttributes": [
                attr("value", "string", "User id", json!({"mutability": "immutable"})),
                attr("$ref", "reference", "User URI", json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                attr("type", "string", "Always User", json!({"mutability": "immutable", "canonicalValues": ["User"]})),
            ]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", model::GROUP_SCHEMA)}
    });
    vec![user, group]
}

fn listed(resources: Vec<Value>) -> HttpResponse {
    list_response(resources.len() as i64, 1, resources)
}

fn not_found(what: &str) -> Error {
    Error::new(ErrorKind::RouteNotFound, format!("No {what} with that id"))
}

/// Service Provider Configuration
///
/// What this service provider supports (RFC 7643 §5). No credential needed.
#[utoipa::path(responses((status = 200, description = "The configuration", content_type = "application/scim+json", body = Object)), security(()))]
#[get("/ServiceProviderConfig")]
pub async fn service_provider_config(req: HttpRequest) -> HttpResponse {
    discovery(service_provider_config_json(&base_url(&req)))
}

/// List Resource Types
#[utoipa::path(responses((status = 200, description = "User and Group", content_type = "application/scim+json", body = Object)), security(()))]
#[get("/ResourceTypes")]
pub async fn list_resource_types(req: HttpRequest) -> HttpResponse {
    listed(resource_types_json(&base_url(&req)))
}

/// Get Resource Type
#[utoipa::path(
    params(("id" = String, Path, description = "`User` or `Group`")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such resource type", content_type = "application/scim+json", body = ScimError),
    ),
    security(())
)]
#[get("/ResourceTypes/{id}")]
pub async fn get_resource_type(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let found = resource_types_json(&base_url(&req)).into_iter().find(|t| t["id"] == json!(id.as_str()));
    found.map(discovery).ok_or_else(|| not_found("resource type"))
}

/// List Schemas
///
/// The attributes Rollcall stores for each resource, and nothing else.
#[utoipa::path(responses((status = 200, description = "User and Group schemas", content_type = "application/scim+json", body = Object)), security(()))]
#[get("/Schemas")]
pub async fn list_schemas(req: HttpRequest) -> HttpResponse {
    listed(schemas_json(&base_url(&req)))
}

/// Get Schema
#[utoipa::path(
    params(("id" = String, Path, description = "The schema URN")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such schema", content_type = "application/scim+json", body = ScimError),
    ),
    security(())
)]
#[get("/Schemas/{id}")]
pub async fn get_schema(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let found = schemas_json(&base_url(&req)).into_iter().find(|s| s["id"] == json!(id.as_str()));
    found.map(discovery).ok_or_else(|| not_found("schema"))
}

// Search across resource types.

/// Search Users and Groups
///
/// `POST /.search` with a `SearchRequest`: users first, then groups. A
/// filter naming an attribute only one of them has matches none of the other.
#[utoipa::path(
    request_body(content = ScimSearchRequest, content_type = "application/scim+json", description = "A SearchRequest"),
    responses((status = 200, description = "A ListResponse of users and groups", content_type = "application/scim+json", body = Object)),
    security(("bearerAuth" = []))
)]
#[post("/.search")]
pub async fn search_all(service: web::Data<Service>, caller: Caller, req: HttpRequest, body: Body) -> Result<HttpResponse, Error> {
    let q = ListQuery::from_search(&json_body(&req, &body)?)?;
    let base = base_url(&req);
    // One sequence, users then groups; the window is laid over it.
    let users_listing = q.listing(Some(Kind::User))?;
    let window = users_listing.window;
    let users = service.scim_list_users(&caller, users_listing).await;
    let users_total = users.as_ref().map_or(0, |(_, total)| *total);
    let mut groups_listing = q.listing(Some(Kind::Group))?;
    let users_shown = users.as_ref().map_or(0, |(page, _)| page.len() as i64);
    groups_listing.window = Window { offset: (window.offset - users_total).max(0), limit: window.limit - users_shown };
    let group_projection = q.projection(Kind::Group)?;
    let groups = service.scim_list_groups(&caller, groups_listing, group_projection.shows("members")).await;
    // An attribute neither resource type has is the client's mistake.
    let (users, groups) = match (users, groups) {
        (Err(e), Err(g)) if names_unknown_attribute(&e) && names_unknown_attribute(&g) => return Err(e),
        (users, groups) => (users.or_else(none_on_filter_error)?, groups.or_else(none_on_filter_error)?),
    };
    let user_projection = q.projection(Kind::User)?;
    let mut resources: Vec<Value> = users.0.iter().map(|r| Value::Object(user_projection.apply(user_json(r, &base)))).collect();
    resources.extend(groups.0.iter().map(|r| Value::Object(group_projection.apply(group_json(r, &base)))));
    let groups_total = groups.1;
    Ok(list_response(users_total + groups_total, window.offset + 1, resources))
}

/// A filter that names an attribute one resource type lacks: none of that type.
fn names_unknown_attribute(e: &Error) -> bool {
    e.details.contains_key(crate::db::scim::UNKNOWN_ATTRIBUTE)
}

fn none_on_filter_error<T>(e: Error) -> Result<(Vec<T>, i64), Error> {
    if names_unknown_attribute(&e) {
        Ok((vec![], 0))
    } else {
        Err(e)
    }
}

// Users.

/// List Users
///
/// **Permissions:** `user_read`
#[utoipa::path(
    params(ListQuery),
    responses((status = 200, description = "A ListResponse of users", content_type = "application/scim+json", body = Object)),
    security(("bearerAuth" = []))
)]
#[get("/Users")]
pub async fn list_users(service: web::Data<Service>, caller: Caller, req: HttpRequest) -> Result<HttpResponse, Error> {
    let q = query_of(&req)?;
    users_listing(&service, &caller, &req, q).await
}

/// Search Users
///
/// A `SearchRequest` body instead of query parameters. **Permissions:** `user_read`
#[utoipa::path(
    request_body(content = ScimSearchRequest, content_type = "application/scim+json", description = "A SearchRequest"),
    responses((status = 200, description = "A ListResponse of users", content_type = "application/scim+json", body = Object)),
    security(("bearerAuth" = []))
)]
#[post("/Users/.search")]
pub async fn search_users(service: web::Data<Service>, caller: Caller, req: HttpRequest, body: Body) -> Result<HttpResponse, Error> {
    let q = ListQuery::from_search(&json_body(&req, &body)?)?;
    users_listing(&service, &caller, &req, q).await
}

/// Create User
///
/// `userName` and one email are required; attributes Rollcall does not
/// store are ignored. **Permissions:** `user_create`
#[utoipa::path(
    request_body(content = ScimUserRequest, content_type = "application/scim+json", description = "A User resource"),
    responses(
        (status = 201, description = "The user as stored", content_type = "application/scim+json", body = Object),
        (status = 409, description = "userName or email taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/Users")]
pub async fn create_user(service: web::Data<Service>, caller: Caller, req: HttpRequest, body: Body) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::User)?;
    let attrs = canonical_resource(Kind::User, &json_body(&req, &body)?)?;
    let user = ScimUser::from_attributes(&attrs)?;
    let made = service.scim_create_user(&caller, user).await?;
    Ok(one(actix_web::http::StatusCode::CREATED, user_json(&made, &base_url(&req)), &projection))
}

/// Get User
///
/// **Permissions:** `user_read` (or the user themself)
#[utoipa::path(
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such user in the account", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/Users/{id}")]
pub async fn get_user(service: web::Data<Service>, caller: Caller, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::User)?;
    let user = service.scim_get_user(&caller, id.into_inner()).await?;
    Ok(one(actix_web::http::StatusCode::OK, user_json(&user, &base_url(&req)), &projection))
}

/// Replace User
///
/// Every writable attribute is replaced (`active` left out stays as it is).
/// `If-Match` with a stale version: 412. **Permissions:** `user_update`
#[utoipa::path(
    params(("id" = String, Path, description = "User id")),
    request_body(content = ScimUserRequest, content_type = "application/scim+json", description = "A User resource"),
    responses(
        (status = 200, description = "The user as stored", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such user in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "userName or email taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
        (status = 412, description = "If-Match names another version", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/Users/{id}")]
pub async fn replace_user(
    service: web::Data<Service>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::User)?;
    let attrs = canonical_resource(Kind::User, &json_body(&req, &body)?)?;
    let user = service.scim_replace_user(&caller, id.into_inner(), attrs, if_match(&req)).await?;
    Ok(one(actix_web::http::StatusCode::OK, user_json(&user, &base_url(&req)), &projection))
}

/// Patch User
///
/// RFC 7644 PATCH as identity providers send it (op in any case, string
/// booleans, path-less values with dotted keys); one transaction.
/// **Permissions:** `user_update`
#[utoipa::path(
    params(("id" = String, Path, description = "User id")),
    request_body(content = ScimPatchRequest, content_type = "application/scim+json", description = "A PatchOp"),
    responses(
        (status = 200, description = "The user as stored", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such user in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "userName or email taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
        (status = 412, description = "If-Match names another version", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[patch("/Users/{id}")]
pub async fn patch_user(
    service: web::Data<Service>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::User)?;
    let ops = scim_patch::parse(&json_body(&req, &body)?)?;
    let user = service.scim_patch_user(&caller, id.into_inner(), ops, if_match(&req)).await?;
    Ok(one(actix_web::http::StatusCode::OK, user_json(&user, &base_url(&req)), &projection))
}

/// Delete User
///
/// The same soft delete as every other surface's. **Permissions:** `user_delete`
#[utoipa::path(
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "The last administrator cannot be deleted", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/Users/{id}")]
pub async fn delete_user(service: web::Data<Service>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, Error> {
    service.scim_delete_user(&caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Groups.

/// List Groups
///
/// `excludedAttributes=members` reads no members. **Permissions:** `group_read`
#[utoipa::path(
    params(ListQuery),
    responses((status = 200, description = "A ListResponse of groups", content_type = "application/scim+json", body = Object)),
    security(("bearerAuth" = []))
)]
#[get("/Groups")]
pub async fn list_groups(service: web::Data<Service>, caller: Caller, req: HttpRequest) -> Result<HttpResponse, Error> {
    let q = query_of(&req)?;
    groups_listing(&service, &caller, &req, q).await
}

/// Search Groups
#[utoipa::path(
    request_body(content = ScimSearchRequest, content_type = "application/scim+json", description = "A SearchRequest"),
    responses((status = 200, description = "A ListResponse of groups", content_type = "application/scim+json", body = Object)),
    security(("bearerAuth" = []))
)]
#[post("/Groups/.search")]
pub async fn search_groups(service: web::Data<Service>, caller: Caller, req: HttpRequest, body: Body) -> Result<HttpResponse, Error> {
    let q = ListQuery::from_search(&json_body(&req, &body)?)?;
    groups_listing(&service, &caller, &req, q).await
}

fn group_body(req: &HttpRequest, body: &web::Bytes) -> Result<(ScimGroup, Option<Vec<String>>), Error> {
    let attrs = canonical_resource(Kind::Group, &json_body(req, body)?)?;
    let group = ScimGroup::from_attributes(&attrs)?;
    let members = match attrs.get("members") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => Some(member_values(&Value::Array(items.clone()))?),
        Some(_) => return Err(scim_error("invalidValue", "members must be an array of objects {\"value\": id}")),
    };
    Ok((group, members))
}

/// Create Group
///
/// Members naming no user of the account are ignored. **Permissions:**
/// `group_create`, and `group_update` (with the group's rights) to add members
#[utoipa::path(
    request_body(content = ScimGroupRequest, content_type = "application/scim+json", description = "A Group resource"),
    responses(
        (status = 201, description = "The group as stored", content_type = "application/scim+json", body = Object),
        (status = 409, description = "displayName taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/Groups")]
pub async fn create_group(service: web::Data<Service>, caller: Caller, req: HttpRequest, body: Body) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::Group)?;
    let (group, members) = group_body(&req, &body)?;
    let made = service.scim_create_group(&caller, group, members).await?;
    Ok(one(actix_web::http::StatusCode::CREATED, group_json(&made, &base_url(&req)), &projection))
}

/// Get Group
///
/// **Permissions:** `group_read`
#[utoipa::path(
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 200, description = "The group", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such group in the account", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/Groups/{id}")]
pub async fn get_group(
    service: web::Data<Service>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::Group)?;
    let group = service.scim_get_group(&caller, id.into_inner()).await?;
    Ok(one(actix_web::http::StatusCode::OK, group_json(&group, &base_url(&req)), &projection))
}

/// Replace Group
///
/// `members`, when given, replaces the members; left out, they stay.
/// **Permissions:** `group_update`
#[utoipa::path(
    params(("id" = String, Path, description = "Group id")),
    request_body(content = ScimGroupRequest, content_type = "application/scim+json", description = "A Group resource"),
    responses(
        (status = 200, description = "The group as stored", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such group in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "displayName taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
        (status = 412, description = "If-Match names another version", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/Groups/{id}")]
pub async fn replace_group(
    service: web::Data<Service>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::Group)?;
    let (group, members) = group_body(&req, &body)?;
    let group = service.scim_replace_group(&caller, id.into_inner(), group, members, if_match(&req)).await?;
    Ok(one(actix_web::http::StatusCode::OK, group_json(&group, &base_url(&req)), &projection))
}

/// Patch Group
///
/// Members added or removed as one set operation in one transaction
/// (`value` lists or `members[value eq "…"]`, `replace` with the full list),
/// idempotent; at most 10,000 member values per request.
/// **Permissions:** `group_update`, with the group's rights to add members
#[utoipa::path(
    params(("id" = String, Path, description = "Group id")),
    request_body(content = ScimPatchRequest, content_type = "application/scim+json", description = "A PatchOp"),
    responses(
        (status = 200, description = "The group as stored", content_type = "application/scim+json", body = Object),
        (status = 404, description = "No such group in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "displayName taken (`uniqueness`)", content_type = "application/scim+json", body = ScimError),
        (status = 412, description = "If-Match names another version", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[patch("/Groups/{id}")]
pub async fn patch_group(
    service: web::Data<Service>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, Error> {
    let projection = projection_of(&req, Kind::Group)?;
    let ops = scim_patch::parse(&json_body(&req, &body)?)?;
    let group = service.scim_patch_group(&caller, id.into_inner(), ops, if_match(&req)).await?;
    Ok(one(actix_web::http::StatusCode::OK, group_json(&group, &base_url(&req)), &projection))
}

/// Delete Group
///
/// **Permissions:** `group_delete`
#[utoipa::path(
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group in the account", content_type = "application/scim+json", body = ScimError),
        (status = 409, description = "System Administrators cannot be deleted", content_type = "application/scim+json", body = ScimError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/Groups/{id}")]
pub async fn delete_group(service: web::Data<Service>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, Error> {
    service.scim_delete_group(&caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
