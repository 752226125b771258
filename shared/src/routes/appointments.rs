//! `POST /appointments` books; `GET /appointments/:id` reads one back.

use bson::{doc, oid::ObjectId};
use http::{header, HeaderValue, Method, StatusCode};

use super::{json_body, segments, HttpRequest};
use crate::appointment::{AppointmentView, BookingRequest, COLLECTION};
use crate::booking::BookingFlow;
use crate::reply::{self, Reply};
use crate::ApiError;

pub fn handle(request: &HttpRequest, flow: &BookingFlow) -> Reply {
    reply::from_result(route(request, flow))
}

fn route(request: &HttpRequest, flow: &BookingFlow) -> Result<Reply, ApiError> {
    match (request.method(), segments(request).as_slice()) {
        (&Method::POST, ["appointments"]) => {
            let booked = flow.book(json_body::<BookingRequest>(request)?)?;
            let mut body = serde_json::to_value(&booked.appointment)
                .map_err(|err| ApiError::Internal(err.to_string()))?;
            body["reminderQueued"] = booked.reminder_queued.into();
            let mut reply = reply::json(StatusCode::CREATED, &body);
            let location = format!("/appointments/{}", booked.appointment.id);
            if let Ok(location) = HeaderValue::from_str(&location) {
                reply.headers_mut().insert(header::LOCATION, location);
            }
            Ok(reply)
        }
        (&Method::GET, ["appointments", id]) => {
            let valid = id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit());
            let oid = ObjectId::parse_str(id)
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_id",
                        "appointment id must be 24 hexadecimal characters",
                    )
                })?;
            let document = flow
                .docs
                .find_one(COLLECTION, doc! { "_id": oid }, None)?
                .ok_or_else(|| ApiError::NotFound(format!("no appointment with id {id}")))?;
            let view = AppointmentView::from_document(&document)?;
            let body =
                serde_json::to_value(&view).map_err(|err| ApiError::Internal(err.to_string()))?;
            Ok(reply::json(StatusCode::OK, &body))
        }
        (_, ["appointments"] | ["appointments", _]) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound("no such route".into())),
    }
}
