//! TEMPORARY stand-in (localStorage, hex) with the IndexedDB module's API,
//! replaced by the IndexedDB implementation.

fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| "no localStorage".to_owned())
}

fn key_of(key: &str) -> String {
    format!("synpunkt:{key}")
}

pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(text) = storage()?
        .get_item(&key_of(key))
        .map_err(|_| "read failed".to_owned())?
    else {
        return Ok(None);
    };
    Ok((0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
        .collect())
}

pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    storage()?
        .set_item(&key_of(key), &text)
        .map_err(|_| "write failed".to_owned())
}

pub async fn delete(key: &str) -> Result<(), String> {
    storage()?
        .remove_item(&key_of(key))
        .map_err(|_| "delete failed".to_owned())
}
