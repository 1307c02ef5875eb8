//! A tiny element builder over web-sys. Text always goes in as text nodes
//! (`set_text_content`), never as HTML: nothing a user wrote is parsed.
//! What a user wrote is also bidi-isolated ([`El::user`],
//! [`El::user_text`]).

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

pub fn window() -> web_sys::Window {
    web_sys::window().expect("the client runs in a browser window")
}

pub fn document() -> Document {
    window().document().expect("a window has a document")
}

pub fn by_id(id: &str) -> Option<Element> {
    document().get_element_by_id(id)
}

/// An element under construction.
pub struct El(pub Element);

pub fn el(tag: &str) -> El {
    El(document()
        .create_element(tag)
        .expect("creating a known element cannot fail"))
}

impl El {
    /// Adds classes, space-separated (`classList.add` refuses a name with
    /// a space in it, so each goes in on its own).
    pub fn class(self, classes: &str) -> Self {
        for class in classes.split_whitespace() {
            let _ = self.0.class_list().add_1(class);
        }
        self
    }

    pub fn attr(self, name: &str, value: &str) -> Self {
        let _ = self.0.set_attribute(name, value);
        self
    }

    /// Sets an attribute only when `on`.
    pub fn flag(self, name: &str, on: bool) -> Self {
        if on { self.attr(name, "") } else { self }
    }

    /// Appends text (as a text node: never interpreted as HTML).
    pub fn text(self, text: &str) -> Self {
        let node = document().create_text_node(text);
        let _ = self.0.append_child(&node);
        self
    }

    /// Marks the element as holding text a user wrote (`dir="auto"`): it
    /// takes its direction from its own text and is isolated from what
    /// surrounds it, so direction controls in the text (nothing checks
    /// what arrives over sync) reorder nothing outside it.
    pub fn user(self) -> Self {
        self.attr("dir", "auto")
    }

    /// Appends a user's text (a name, a title) among other text, isolated
    /// in a `<bdi>` as [`El::user`] isolates a whole element.
    pub fn user_text(self, text: &str) -> Self {
        self.child(el("bdi").text(text))
    }

    pub fn child(self, child: El) -> Self {
        let _ = self.0.append_child(&child.0);
        self
    }

    pub fn children(self, children: impl IntoIterator<Item = El>) -> Self {
        for c in children {
            let _ = self.0.append_child(&c.0);
        }
        self
    }

    /// A button that triggers `action` (handled by the page's one click
    /// listener), with extra data attributes.
    pub fn style(self, property: &str, value: &str) -> Self {
        if let Some(e) = self.0.dyn_ref::<HtmlElement>() {
            let _ = e.style().set_property(property, value);
        }
        self
    }
}

/// A button whose click runs `action` (see `App::on_click`).
pub fn button(action: &str, label: &str) -> El {
    el("button")
        .attr("type", "button")
        .attr("data-action", action)
        .text(label)
}

/// The nearest ancestor (or self) with the attribute.
pub fn closest_with(target: &web_sys::EventTarget, attr: &str) -> Option<Element> {
    let el = target.dyn_ref::<Element>()?;
    el.closest(&format!("[{attr}]")).ok().flatten()
}

pub fn data(el: &Element, name: &str) -> String {
    el.get_attribute(&format!("data-{name}"))
        .unwrap_or_default()
}
