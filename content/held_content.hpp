// Placeholder: the bounded holder of a message's content (issue 17) lands here.
#pragma once
