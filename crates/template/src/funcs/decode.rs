//! Decoding JSON and YAML documents straight into template values, counting every node
//! against the render's limits as it is produced: a small document can expand to a huge
//! value (YAML aliases, `[[],[],…]`), so nothing is built first and checked afterwards.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::budget::Budget;
use crate::value::{Map, Value};

/// Bytes one decoded node is counted as (the value slot, its string or collection
/// allocation and the decoder's bookkeeping).
const NODE_BYTES: u64 = 128;

/// Node accounting shared by every level of one decode.
pub(crate) struct Counter {
    start: u64,
    left: Cell<u64>,
    max_len: usize,
    exceeded: Cell<Option<String>>,
}

impl Counter {
    /// A counter allowing what the budget has left to allocate.
    pub(crate) fn new(budget: &Budget) -> Self {
        let left = budget
            .limits()
            .max_allocated_bytes
            .saturating_sub(budget.allocated_bytes());
        Counter {
            start: left / NODE_BYTES,
            left: Cell::new(left / NODE_BYTES),
            max_len: budget.limits().max_collection_len,
            exceeded: Cell::new(None),
        }
    }

    /// The limit that stopped the decode, if one did; otherwise charges what the decode
    /// allocated to the budget.
    pub(crate) fn finish(&self, budget: &mut Budget) -> Option<String> {
        if let Some(limit) = self.exceeded.take() {
            return Some(limit);
        }
        let used = self.start - self.left.get();
        budget.allocate(used * NODE_BYTES).err()
    }

    fn node<E: de::Error>(&self, extra_bytes: usize) -> Result<(), E> {
        let cost = 1 + extra_bytes as u64 / NODE_BYTES;
        match self.left.get().checked_sub(cost) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => self.fail("the decoded document would allocate more than the render's limit"),
        }
    }

    fn fail<T, E: de::Error>(&self, message: &str) -> Result<T, E> {
        self.exceeded.set(Some(message.to_string()));
        Err(E::custom(message))
    }
}

/// Decodes one value (numbers become `float64`, like Go's `json.Unmarshal` into `any`).
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed<'c> {
    /// The shared counter.
    pub counter: &'c Counter,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON or YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.counter.node(0)?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.counter.node(0)?;
        Ok(Value::Float(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.counter.node(0)?;
        Ok(Value::Float(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.counter.node(0)?;
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.counter.node(v.len())?;
        Ok(Value::from(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.counter.node(v.len())?;
        Ok(Value::from(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        self.counter.node(v.len())?;
        Ok(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.counter.node(0)?;
        Ok(Value::Nil)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.counter.node(0)?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            if items.len() >= self.counter.max_len {
                return self
                    .counter
                    .fail("a decoded list is longer than the render's limit");
            }
            items.push(v);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.counter.node(0)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(self)? {
            // sigs.k8s.io/yaml turns non-string keys into their printed form.
            let key = match key {
                Value::String(s) => s.to_str_lossy().into_owned(),
                other => other.to_go_string_small(),
            };
            let value = map.next_value_seed(self)?;
            if out.len() >= self.counter.max_len {
                return self
                    .counter
                    .fail("a decoded map is larger than the render's limit");
            }
            out.insert(key, value);
        }
        Ok(Value::from(out))
    }

    /// YAML tags (`!foo value`): the tag is dropped, as converting YAML to JSON does.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }
}
