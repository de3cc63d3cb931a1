package browser

import (
	"encoding/json"
	"fmt"
	"strings"

	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/chromedp"
)

// unmarshalOptions are chromedp's: the browser's JSON may carry invalid
// UTF-8 (a header or frame of raw bytes), which must not lose the event.
var unmarshalOptions = chromedp.DefaultUnmarshalOptions

// The CDP events the recorder reads. They are decoded into the small structs
// below rather than cdproto's types because cdproto keeps headers in a Go
// map, which loses the order the browser sent them in.
const (
	evAttached          = "Target.attachedToTarget"
	evDetached          = "Target.detachedFromTarget"
	evTargetCreated     = "Target.targetCreated"
	evTargetDestroyed   = "Target.targetDestroyed"
	evTargetInfoChanged = "Target.targetInfoChanged"
	evTargetCrashed     = "Target.targetCrashed"

	evRequestWillBeSent   = "Network.requestWillBeSent"
	evRequestExtraInfo    = "Network.requestWillBeSentExtraInfo"
	evResponseReceived    = "Network.responseReceived"
	evResponseExtraInfo   = "Network.responseReceivedExtraInfo"
	evDataReceived        = "Network.dataReceived"
	evLoadingFinished     = "Network.loadingFinished"
	evLoadingFailed       = "Network.loadingFailed"
	evServedFromCache     = "Network.requestServedFromCache"
	evEventSourceMessage  = "Network.eventSourceMessageReceived"
	evWSCreated           = "Network.webSocketCreated"
	evWSHandshakeRequest  = "Network.webSocketWillSendHandshakeRequest"
	evWSHandshakeResponse = "Network.webSocketHandshakeResponseReceived"
	evWSFrameSent         = "Network.webSocketFrameSent"
	evWSFrameReceived     = "Network.webSocketFrameReceived"
	evWSFrameError        = "Network.webSocketFrameError"
	evWSClosed            = "Network.webSocketClosed"
)

// headerList is a CDP Headers object in the order the browser wrote it.
// Chrome joins repeated headers (Set-Cookie above all) with "\n"; they are
// split back into one pair each, as they were on the wire.
type headerList []headerPair

type headerPair struct{ name, value string }

// UnmarshalJSONFrom reads the object token by token (encoding/json/v2's
// interface): a map would lose the order.
func (h *headerList) UnmarshalJSONFrom(dec *jsonv2.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		*h = nil
		return nil
	case '{':
	default:
		return fmt.Errorf("headers: expected object")
	}
	out := (*h)[:0]
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		var value string
		switch dec.PeekKind() {
		case '"':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			value = tok.String()
		default:
			// Chrome sends strings; anything else is kept as written.
			v, err := dec.ReadValue()
			if err != nil {
				return err
			}
			if v.Kind() != 'n' {
				value = string(v)
			}
		}
		for part := range strings.SplitSeq(value, "\n") {
			out = append(out, headerPair{name, part})
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*h = out
	return nil
}

func (h headerList) get(name string) (string, bool) {
	for _, p := range h {
		if strings.EqualFold(p.name, name) {
			return p.value, true
		}
	}
	return "", false
}

type cdpRequest struct {
	URL             string     `json:"url"`
	Method          string     `json:"method"`
	Headers         headerList `json:"headers"`
	PostData        *string    `json:"postData"`
	HasPostData     bool       `json:"hasPostData"`
	PostDataEntries []struct {
		Bytes string `json:"bytes"`
	} `json:"postDataEntries"`
	InitialPriority string `json:"initialPriority"`
}

// cdpTiming is Network.ResourceTiming: requestTime in seconds (monotonic),
// every other field in milliseconds after it, -1 when not applicable.
type cdpTiming struct {
	RequestTime       float64 `json:"requestTime"`
	DNSStart          float64 `json:"dnsStart"`
	DNSEnd            float64 `json:"dnsEnd"`
	ConnectStart      float64 `json:"connectStart"`
	ConnectEnd        float64 `json:"connectEnd"`
	SSLStart          float64 `json:"sslStart"`
	SSLEnd            float64 `json:"sslEnd"`
	SendStart         float64 `json:"sendStart"`
	SendEnd           float64 `json:"sendEnd"`
	ReceiveHeadersEnd float64 `json:"receiveHeadersEnd"`
}

type cdpResponse struct {
	URL                   string     `json:"url"`
	Status                int        `json:"status"`
	StatusText            string     `json:"statusText"`
	Headers               headerList `json:"headers"`
	MimeType              string     `json:"mimeType"`
	ConnectionID          float64    `json:"connectionId"`
	RemoteIPAddress       string     `json:"remoteIPAddress"`
	FromDiskCache         bool       `json:"fromDiskCache"`
	FromServiceWorker     bool       `json:"fromServiceWorker"`
	Timing                *cdpTiming `json:"timing"`
	ServiceWorkerSource   string     `json:"serviceWorkerResponseSource"`
	CacheStorageCacheName string     `json:"cacheStorageCacheName"`
	Protocol              string     `json:"protocol"`
}

type evRequest struct {
	RequestID            string          `json:"requestId"`
	Request              cdpRequest      `json:"request"`
	Timestamp            float64         `json:"timestamp"`
	WallTime             float64         `json:"wallTime"`
	Initiator            json.RawMessage `json:"initiator"`
	RedirectHasExtraInfo bool            `json:"redirectHasExtraInfo"`
	RedirectResponse     *cdpResponse    `json:"redirectResponse"`
	Type                 string          `json:"type"`
}

type evRequestExtra struct {
	RequestID string     `json:"requestId"`
	Headers   headerList `json:"headers"`
}

type evResponse struct {
	RequestID    string      `json:"requestId"`
	Timestamp    float64     `json:"timestamp"`
	Response     cdpResponse `json:"response"`
	HasExtraInfo bool        `json:"hasExtraInfo"`
}

type evResponseExtra struct {
	RequestID   string     `json:"requestId"`
	Headers     headerList `json:"headers"`
	StatusCode  int        `json:"statusCode"`
	HeadersText string     `json:"headersText"`
}

type evData struct {
	RequestID  string  `json:"requestId"`
	DataLength float64 `json:"dataLength"`
}

type evFinished struct {
	RequestID         string  `json:"requestId"`
	Timestamp         float64 `json:"timestamp"`
	EncodedDataLength float64 `json:"encodedDataLength"`
}

type evFailed struct {
	RequestID string  `json:"requestId"`
	Timestamp float64 `json:"timestamp"`
	ErrorText string  `json:"errorText"`
	Canceled  bool    `json:"canceled"`
}

type evRequestID struct {
	RequestID string `json:"requestId"`
}

type evEventSource struct {
	RequestID string  `json:"requestId"`
	Timestamp float64 `json:"timestamp"`
	EventName string  `json:"eventName"`
	EventID   string  `json:"eventId"`
	Data      string  `json:"data"`
}

// evWS is any of the Network.webSocket* events; each fills the fields it
// has: the URL at creation, the handshake's request and response, a
// frame's opcode and payload, an error message.
type evWS struct {
	RequestID string          `json:"requestId"`
	Timestamp float64         `json:"timestamp"`
	WallTime  float64         `json:"wallTime"`
	URL       string          `json:"url"`
	Initiator json.RawMessage `json:"initiator"`
	Request   struct {
		Headers headerList `json:"headers"`
	} `json:"request"`
	Response struct {
		Status      int        `json:"status"`
		StatusText  string     `json:"statusText"`
		Headers     headerList `json:"headers"`
		Opcode      float64    `json:"opcode"`
		PayloadData string     `json:"payloadData"`
	} `json:"response"`
	ErrorMessage string `json:"errorMessage"`
}

// evTargetInfo is what the recorder reads of the Target.* events, and of
// Target.attachToTarget's parameters and answer.
type evTargetInfo struct {
	SessionID  string `json:"sessionId"`
	TargetInfo struct {
		TargetID string `json:"targetId"`
		Type     string `json:"type"`
	} `json:"targetInfo"`
	TargetID string `json:"targetId"`
}
