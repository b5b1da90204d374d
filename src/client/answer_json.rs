//! An answer's body parsed into a `serde_json::Value`, exactly as `serde_json::from_slice` parses
//! it, with each object's map allocated once at its final size. serde_json's own `Value` grows
//! every map from empty (with `preserve_order`, an `IndexMap`: its entries and its hash index
//! are reallocated and rehashed at 4, 8, 16 and 32 members), and a Request has 21 members: that
//! growth was a visible part of the client's CPU per exchange under `cmconform load`. Here the
//! members of an object are first collected on one stack shared by the whole parse, then moved
//! into a map of exactly their count, inserted in the same order (so a repeated name keeps its
//! first position and its last value, as `Map::insert` does for serde_json). Scalars, the
//! recursion limit and the trailing-characters check are serde_json's own: only the visitor
//! differs.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Members collected at once while parsing: enough for a Request's 21 without growing.
const STACK_START: usize = 32;

/// `serde_json::from_slice::<Value>(body).ok()`, with maps allocated at their final size.
pub fn parse(body: &[u8]) -> Option<Value> {
    let mut members = Vec::with_capacity(STACK_START);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        members: &mut members,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    Some(value)
}

/// Builds one value; the members of the objects being built wait on `members`.
struct Seed<'stack> {
    members: &'stack mut Vec<(String, Value)>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The same value for every JSON token as serde_json's `ValueVisitor` gives.
impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut array = Vec::new();
        while let Some(item) = items.next_element_seed(Seed {
            members: &mut *self.members,
        })? {
            array.push(item);
        }
        Ok(Value::Array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let start = self.members.len();
        while let Some(name) = entries.next_key::<String>()? {
            let value = entries.next_value_seed(Seed {
                members: &mut *self.members,
            })?;
            self.members.push((name, value));
        }
        let mut object = Map::with_capacity(self.members.len() - start);
        for (name, value) in self.members.drain(start..) {
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests;
