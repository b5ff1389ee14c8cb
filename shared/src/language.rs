//! The languages PushGuard speaks: English and Spanish, chosen per request by
//! `Accept-Language` (quality values honoured), answered with `Content-Language`.
//!
//! The catalogue holds each fixed text once per language, side by side, so a text
//! cannot exist in one language only (the compiler holds every entry to both). What
//! machines read (field names, codes, `type`, status codes) never changes with the
//! language. Texts that carry values (validation messages, conflicts) are English for
//! now; see the README.

use std::fmt;

/// A language PushGuard answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    English,
    Spanish,
}

tokio::task_local! {
    /// The language of the request being answered (set by `http::conventions`).
    static CURRENT: Language;
}

impl Language {
    /// Its tag, as `Content-Language` and `<html lang>` say it.
    pub fn tag(&self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }

    fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split('-').next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }

    /// The language `accept_language` prefers among ours (RFC 9110: the highest
    /// quality wins, the first listed among equals; `q=0` excludes; `*` is `default`),
    /// else `default`.
    pub fn negotiate(accept_language: Option<&str>, default: Language) -> Language {
        let Some(header) = accept_language else {
            return default;
        };
        let mut best: Option<(Language, u16)> = None;
        let mut excluded = Vec::new();
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(Some(1000), quality)
                .unwrap_or(0);
            let language = if tag == "*" {
                Some(default)
            } else {
                Language::of_tag(tag)
            };
            let Some(language) = language else { continue };
            if quality == 0 {
                excluded.push(language);
                continue;
            }
            if best.is_none_or(|(_, q)| quality > q) {
                best = Some((language, quality));
            }
        }
        match best {
            Some((language, _)) if !excluded.contains(&language) => language,
            _ if excluded.contains(&default) => [Language::English, Language::Spanish]
                .into_iter()
                .find(|l| !excluded.contains(l))
                .unwrap_or(default),
            _ => default,
        }
    }

    /// The language of the request being answered (English outside one).
    pub fn current() -> Language {
        CURRENT.try_with(|language| *language).unwrap_or_default()
    }

    /// Runs `work` as the answer to a request in this language.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

/// A quality value (`0.8`) in thousandths; `None` if it is not one.
fn quality(text: &str) -> Option<u16> {
    let value: f64 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A fixed text of the API and its pages, in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    RouteNotFound,
    MethodNotAllowed,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Unavailable,
    Maintenance,
    Internal,
    // The hosted payment page.
    PayAmount,
    PayQuantity,
    PayGateway,
    PayStatus,
    PayOrder,
    PayEmailLabel,
    PayContinue,
    PayTestMode,
    PayReturn,
    PayPurchase,
    PayDownload,
    PayBytes,
    PayReload,
    PayCancelled,
    PayPreparing,
    PayNotFound,
    PayNotComplete,
    PayNoFile,
    // The seed's order statuses, as the page says them.
    StatusNotPaid,
    StatusChargeback,
    StatusHighRisk,
    StatusPartiallyPaid,
    StatusAwaitingConfirmations,
    StatusPendingPaypal,
    StatusRefunded,
    StatusPaid,
}

impl Text {
    pub const ALL: [Text; 38] = [
        Text::ValidationFailed,
        Text::Unauthenticated,
        Text::Forbidden,
        Text::RouteNotFound,
        Text::MethodNotAllowed,
        Text::NotAcceptable,
        Text::PayloadTooLarge,
        Text::UnsupportedMediaType,
        Text::TooManyRequests,
        Text::Unavailable,
        Text::Maintenance,
        Text::Internal,
        Text::PayAmount,
        Text::PayQuantity,
        Text::PayGateway,
        Text::PayStatus,
        Text::PayOrder,
        Text::PayEmailLabel,
        Text::PayContinue,
        Text::PayTestMode,
        Text::PayReturn,
        Text::PayPurchase,
        Text::PayDownload,
        Text::PayBytes,
        Text::PayReload,
        Text::PayCancelled,
        Text::PayPreparing,
        Text::PayNotFound,
        Text::PayNotComplete,
        Text::PayNoFile,
        Text::StatusNotPaid,
        Text::StatusChargeback,
        Text::StatusHighRisk,
        Text::StatusPartiallyPaid,
        Text::StatusAwaitingConfirmations,
        Text::StatusPendingPaypal,
        Text::StatusRefunded,
        Text::StatusPaid,
    ];

    /// (English, Spanish).
    fn both(&self) -> (&'static str, &'static str) {
        match self {
            Text::ValidationFailed => ("Validation failed", "Los datos enviados no son válidos"),
            Text::Unauthenticated => (
                "Unable to authenticate",
                "No se pudo autenticar la solicitud",
            ),
            Text::Forbidden => (
                "You are not authorized to perform this action",
                "No tienes permiso para realizar esta acción",
            ),
            Text::RouteNotFound => ("Route not found", "No existe esa ruta"),
            Text::MethodNotAllowed => ("Method not allowed", "Método no permitido"),
            Text::NotAcceptable => (
                "Not acceptable: this API only produces application/json",
                "No aceptable: esta API solo responde en application/json",
            ),
            Text::PayloadTooLarge => (
                "Request body is larger than 256 KiB",
                "El cuerpo de la solicitud supera los 256 KiB",
            ),
            Text::UnsupportedMediaType => (
                "Unsupported media type: send the body as application/json",
                "Tipo de contenido no admitido: envía el cuerpo como application/json",
            ),
            Text::TooManyRequests => ("Too many requests", "Demasiadas solicitudes"),
            Text::Unavailable => (
                "Service unavailable, try again later",
                "El servicio no está disponible; inténtalo de nuevo más tarde",
            ),
            Text::Maintenance => (
                "We're temporarily offline for maintenance. Please try again later.",
                "Estamos en mantenimiento y volveremos en breve. Inténtalo de nuevo más tarde.",
            ),
            Text::Internal => ("Internal server error", "Error interno del servidor"),
            Text::PayAmount => ("Amount", "Importe"),
            Text::PayQuantity => ("Quantity", "Cantidad"),
            Text::PayGateway => ("Gateway", "Método de pago"),
            Text::PayStatus => ("Status", "Estado"),
            Text::PayOrder => ("Order", "Pedido"),
            Text::PayEmailLabel => (
                "Your email, for the receipt and what you buy",
                "Tu correo electrónico, para el recibo y lo que compras",
            ),
            Text::PayContinue => ("Continue to payment", "Continuar con el pago"),
            Text::PayTestMode => (
                "Test mode: this is not a real payment, and no money moves.",
                "Modo de prueba: este no es un pago real y no se mueve dinero.",
            ),
            Text::PayReturn => ("Return to the shop", "Volver a la tienda"),
            Text::PayPurchase => ("Your purchase", "Tu compra"),
            Text::PayDownload => ("Download", "Descargar"),
            Text::PayBytes => ("bytes", "bytes"),
            Text::PayReload => (
                "Reload this page to see the latest status.",
                "Recarga esta página para ver el estado más reciente.",
            ),
            Text::PayCancelled => ("Cancelled", "Cancelado"),
            Text::PayPreparing => (
                "Paid: your purchase is being prepared",
                "Pagado: estamos preparando tu compra",
            ),
            Text::PayNotFound => ("This payment does not exist.", "Este pago no existe."),
            Text::PayNotComplete => (
                "The download is for the customer who paid: this payment is not complete.",
                "La descarga es para quien pagó: este pago no está completo.",
            ),
            Text::PayNoFile => (
                "This purchase has no file to download.",
                "Esta compra no tiene ningún archivo para descargar.",
            ),
            Text::StatusNotPaid => ("Not paid", "No pagado"),
            Text::StatusChargeback => ("Chargeback/Reversed", "Contracargo/Revertido"),
            Text::StatusHighRisk => ("High risk", "Riesgo alto"),
            Text::StatusPartiallyPaid => ("Partially paid", "Pagado parcialmente"),
            Text::StatusAwaitingConfirmations => (
                "Awaiting Cryptocurrency confirmations",
                "Esperando confirmaciones de la criptomoneda",
            ),
            Text::StatusPendingPaypal => ("Pending - PayPal", "Pendiente - PayPal"),
            Text::StatusRefunded => ("Refunded", "Reembolsado"),
            Text::StatusPaid => ("Successful and completed", "Completado con éxito"),
        }
    }

    /// The text in `language`.
    pub fn in_language(&self, language: Language) -> &'static str {
        let (english, spanish) = self.both();
        match language {
            Language::English => english,
            Language::Spanish => spanish,
        }
    }
}

/// "{kind} not found" in `language`: each kind of thing the API can fail to find, with
/// its Spanish noun and article.
pub fn not_found(kind: &str, language: Language) -> String {
    match (language, spanish_noun(kind)) {
        (Language::Spanish, Some(noun)) => format!("No se encontró {noun}"),
        (Language::Spanish, None) => format!("No se encontró: {kind}"),
        (Language::English, _) => format!("{kind} not found"),
    }
}

/// The kinds the API names in a 404, in Spanish with their article.
const NOUNS: [(&str, &str); 21] = [
    ("Account", "la cuenta"),
    ("API key", "la clave de API"),
    ("Endpoint", "el endpoint"),
    ("Event", "el evento"),
    ("Event type", "el tipo de evento"),
    ("Webhook log", "el registro del webhook"),
    ("Webhook", "el webhook"),
    ("Product", "el producto"),
    ("Category", "la categoría"),
    ("Order", "el pedido"),
    ("Payment", "el pago"),
    ("Blacklist", "la entrada de la lista negra"),
    ("Blacklist rule", "la regla de la lista negra"),
    ("Feedback", "la valoración"),
    ("Query", "la consulta"),
    ("Request", "la solicitud"),
    ("Portal session", "la sesión del portal"),
    ("Upload", "la subida"),
    ("Image", "la imagen"),
    ("Blocked resource", "el recurso bloqueado"),
    ("Route", "la ruta"),
];

fn spanish_noun(kind: &str) -> Option<&'static str> {
    NOUNS
        .iter()
        .find(|(english, _)| *english == kind)
        .map(|(_, spanish)| *spanish)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_quality_wins_and_zero_excludes() {
        let es = Language::Spanish;
        let en = Language::English;
        for (header, default, expected) in [
            (None, en, en),
            (Some("es"), en, es),
            (Some("es-MX,es;q=0.9,en;q=0.8"), en, es),
            (Some("fr-FR, fr;q=0.9, es;q=0.7, en;q=0.5"), en, es),
            (Some("en;q=0.4, es;q=0.6"), en, es),
            (Some("de, fr"), en, en),
            (Some("de, fr"), es, es),
            (Some("es;q=0"), es, en),
            (Some("*"), es, es),
            (Some("en-GB;q=0.9, *;q=0.1"), es, en),
            (Some("es;q=banana, en"), en, en),
            (Some(""), es, es),
        ] {
            assert_eq!(Language::negotiate(header, default), expected, "{header:?}");
        }
    }

    #[test]
    fn every_text_is_written_in_both_languages() {
        // The same in both: a unit, and what the seed names in English everywhere.
        const SAME: [Text; 1] = [Text::PayBytes];
        for text in Text::ALL {
            let (english, spanish) = text.both();
            assert!(!english.is_empty() && !spanish.is_empty(), "{text:?}");
            if !SAME.contains(&text) {
                assert_ne!(english, spanish, "{text:?} is not translated");
            }
        }
    }

    #[test]
    fn every_kind_the_api_names_has_its_spanish_noun() {
        for (kind, _) in NOUNS {
            assert!(not_found(kind, Language::Spanish).starts_with("No se encontró "));
        }
        for kind in crate::ids::kinds::NAMES {
            assert!(
                spanish_noun(kind).is_some(),
                "{kind} has no Spanish noun: add it to NOUNS"
            );
        }
        assert_eq!(
            not_found("Product", Language::Spanish),
            "No se encontró el producto"
        );
        assert_eq!(not_found("Product", Language::English), "Product not found");
    }
}
