//! Small readers over automerge documents shared by the schema modules.

use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// All entries of a map, read in one pass (cheaper than a `get` per key).
pub(crate) struct Fields(pub(crate) std::collections::HashMap<String, (Value<'static>, ObjId)>);

impl Fields {
    pub(crate) fn of(doc: &impl ReadDoc, obj: &ObjId) -> Self {
        Fields(
            doc.map_range(obj, ..)
                .map(|item| {
                    let id = item.id();
                    (item.key.into_owned(), (Value::from(item.value), id))
                })
                .collect(),
        )
    }

    pub(crate) fn obj(&self, key: &str) -> Option<ObjId> {
        match self.0.get(key) {
            Some((Value::Object(_), id)) => Some(id.clone()),
            _ => None,
        }
    }

    pub(crate) fn str(&self, doc: &impl ReadDoc, key: &str) -> String {
        match self.0.get(key) {
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_owned(),
            Some((Value::Object(ObjType::Text), id)) => doc.text(id).unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
    }

    pub(crate) fn int(&self, key: &str) -> i64 {
        match self.0.get(key) {
            Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or(0),
            _ => 0,
        }
    }
}

pub(crate) fn get_obj(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    }
}

pub(crate) fn get_str(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> String {
    match doc.get(parent, key) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_owned(),
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).unwrap_or_default(),
        _ => String::new(),
    }
}

pub(crate) fn actor_of(obj: &ObjId) -> String {
    match obj {
        ObjId::Id(_, actor, _) => actor.to_hex_string(),
        ObjId::Root => String::new(),
    }
}

pub(crate) fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

pub(crate) fn from_utf16(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}
