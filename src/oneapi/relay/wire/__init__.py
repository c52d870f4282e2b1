"""One codec per wire format (OpenAI Chat, Claude Messages, Responses, Gemini); see `base.Codec`."""
