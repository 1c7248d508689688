/* The C API from C: mark 3 s of stereo programme block by block, feed every
 * marked block straight into a detector (as a set-top box and a monitor
 * would), and check the IDs, counters and times it reports; then check that
 * misuse comes back as error codes. The same file runs on the host (gcc) and
 * on a Cortex-M4F under QEMU (arm-none-eabi-gcc, see cortex-m/). */

#include <stdio.h>
#include <string.h>

#include "hushmark.h"

enum { RATE = 48000, CHANNELS = 2, BLOCK_FRAMES = 256, SECONDS = 3 };

static int passed, failed;

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAILED: %s\n", what);
    }
}

static void check_status(enum HmStatus got, enum HmStatus want, const char *what) {
    if (got != want) {
        printf("%s: got %d (%s), want %d (%s)\n", what, (int)got, hm_status_message(got), (int)want,
               hm_status_message(want));
    }
    check(got == want, what);
}

/* Static: 136 KiB is too much for a small firmware stack. */
static struct HmEmbedder embedder;
static struct HmDetector detector;

static const uint8_t KEY[HM_KEY_LEN] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID[20] = {0xd8, 0xda, 0x6b, 0xf2, 0x69, 0x64, 0xaf, 0x9d, 0x7e, 0xed,
                               0x9e, 0x03, 0xe5, 0x34, 0x15, 0xd3, 0x7a, 0xa9, 0x60, 0x45};

struct found {
    int count;
    struct HmDetection events[8];
};

static void on_detection(const struct HmDetection *d, void *user) {
    struct found *f = user;
    if (f->count < 8) {
        f->events[f->count] = *d;
    }
    f->count++;
}

/* Deterministic programme: noise at about -20 dBFS (xorshift32). */
static uint32_t rng = 0x12345678u;
static int16_t noise(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (int16_t)((int32_t)(rng >> 16) - 32768) / 10;
}

static void round_trip(void) {
    struct HmEmbedConfig ec;
    check_status(hm_embed_config_default(&ec), HM_STATUS_OK, "embed defaults");
    memcpy(ec.key, KEY, sizeof KEY);
    memcpy(ec.id, ID, sizeof ID);
    ec.id_len = sizeof ID;
    check_status(hm_embedder_init(&embedder, &ec), HM_STATUS_OK, "embedder init");
    check(hm_embedder_burst_frames(&embedder) == 47680, "a 20-byte ID takes a 993 ms burst");

    struct HmDetectConfig dc;
    check_status(hm_detect_config_default(&dc), HM_STATUS_OK, "detect defaults");
    memcpy(dc.key, KEY, sizeof KEY);
    check_status(hm_detector_init(&detector, &dc), HM_STATUS_OK, "detector init");

    /* The output is the input delayed by the limiter's look-ahead. */
    uint64_t latency = hm_embedder_latency(&embedder);
    check(latency == 96, "the ultrasonic limiter looks 2 ms ahead");
    const size_t lag = (size_t)latency * CHANNELS;
    const size_t n = BLOCK_FRAMES * CHANNELS;
    struct found f = {0};
    int16_t block[BLOCK_FRAMES * CHANNELS];
    int16_t previous[BLOCK_FRAMES * CHANNELS] = {0};
    int unmarked_differs = 0;
    for (uint64_t frame = 0; frame < (uint64_t)RATE * SECONDS; frame += BLOCK_FRAMES) {
        for (size_t i = 0; i < n; i++) {
            block[i] = noise();
        }
        int16_t programme[BLOCK_FRAMES * CHANNELS];
        int16_t delayed[BLOCK_FRAMES * CHANNELS];
        memcpy(programme, block, sizeof block);
        memcpy(delayed, previous + (n - lag), lag * sizeof delayed[0]);
        memcpy(delayed + lag, programme, (n - lag) * sizeof delayed[0]);
        memcpy(previous, programme, sizeof programme);
        enum HmStatus s = hm_embedder_process_i16(&embedder, frame, block, BLOCK_FRAMES * CHANNELS);
        if (s != HM_STATUS_OK) {
            check_status(s, HM_STATUS_OK, "embedder process");
            return;
        }
        /* Between bursts (1.0 .. 2.0 s) the output is the input, bit for bit. */
        if (frame >= 48000 + latency && frame + BLOCK_FRAMES <= 96000 && memcmp(delayed, block, sizeof block) != 0) {
            unmarked_differs = 1;
        }
        s = hm_detector_process_i16(&detector, frame, block, BLOCK_FRAMES * CHANNELS, on_detection, &f);
        if (s != HM_STATUS_OK) {
            check_status(s, HM_STATUS_OK, "detector process");
            return;
        }
    }
    check_status(hm_detector_finish(&detector, on_detection, &f), HM_STATUS_OK, "detector finish");
    check(!unmarked_differs, "outside bursts the programme is untouched");

    printf("%d detections\n", f.count);
    check(f.count == 2, "a burst at 0 s and one at 2 s are found");
    for (int i = 0; i < f.count && i < 2; i++) {
        const struct HmDetection *d = &f.events[i];
        long long expected = (long long)i * 2 * RATE + (long long)latency;
        long long error = (long long)d->start_sample - expected;
        printf("id %02x%02x..%02x counter %u start %llu snr %.1f dB\n", d->id[0], d->id[1], d->id[19],
               (unsigned)d->counter, (unsigned long long)d->start_sample, (double)d->snr_db);
        check(d->id_len == sizeof ID && memcmp(d->id, ID, sizeof ID) == 0, "the ID is the one marked");
        check(d->has_counter && d->counter == (uint16_t)i, "counters count bursts");
        check(error >= -48 && error <= 48, "start within 1 ms");
    }
}

/* Both layers, as a set-top box's recommended setting: 5 s of stereo noise
 * marked with ultrasonic+robust, delayed by both layers' look-ahead (robust 1701 + ultrasonic 96); the
 * detector finds both, names the layer of each, and confirms the robust ID
 * every second. */
static void both_layers(void) {
    struct HmEmbedConfig ec;
    hm_embed_config_default(&ec);
    memcpy(ec.key, KEY, sizeof KEY);
    memcpy(ec.id, ID, sizeof ID);
    ec.id_len = sizeof ID;
    ec.profiles = HM_PROFILE_ULTRASONIC | HM_PROFILE_ROBUST;
    check_status(hm_embedder_init(&embedder, &ec), HM_STATUS_OK, "embedder init, both layers");
    uint64_t latency = hm_embedder_latency(&embedder);
    check(latency == 1701 + 96, "both layers delay the stream by 1797 frames (37.4 ms)");

    struct HmDetectConfig dc;
    hm_detect_config_default(&dc);
    memcpy(dc.key, KEY, sizeof KEY);
    dc.profiles = HM_PROFILE_ULTRASONIC | HM_PROFILE_ROBUST;
    check_status(hm_detector_init(&detector, &dc), HM_STATUS_OK, "detector init, both layers");

    struct found f = {0};
    int ultrasonic = 0, robust = 0, presence = 0;
    int16_t block[BLOCK_FRAMES * CHANNELS];
    rng = 0x9e3779b9u;
    for (uint64_t frame = 0; frame < (uint64_t)RATE * 5; frame += BLOCK_FRAMES) {
        for (size_t i = 0; i < sizeof block / sizeof block[0]; i++) {
            block[i] = noise();
        }
        check_status(hm_embedder_process_i16(&embedder, frame, block, BLOCK_FRAMES * CHANNELS), HM_STATUS_OK,
                     "embed both layers");
        check_status(hm_detector_process_i16(&detector, frame, block, BLOCK_FRAMES * CHANNELS, on_detection, &f),
                     HM_STATUS_OK, "detect both layers");
        for (; f.count > 0; f.count--) {
            const struct HmDetection *d = &f.events[f.count - 1];
            int right = d->id_len == sizeof ID && memcmp(d->id, ID, sizeof ID) == 0;
            check(right, "every event names the ID marked");
            if (d->kind == HM_EVENT_PRESENCE) {
                presence += d->present;
            } else if (d->profile == HM_PROFILE_ROBUST) {
                robust++;
                /* Periods start every 2.048 s from the output's start. */
                check((d->start_sample - latency + 2) % 98304 <= 4, "a robust period start is on its grid");
            } else if (d->profile == HM_PROFILE_ULTRASONIC) {
                ultrasonic++;
                check((d->start_sample - latency + 48) % 96000 <= 96, "a burst starts on its schedule");
            }
        }
    }
    printf("both layers: %d ultrasonic, %d robust, %d presence\n", ultrasonic, robust, presence);
    check(ultrasonic >= 1 && robust >= 1 && presence >= 1, "both layers found, the robust ID confirmed");
    check_status(hm_detector_expect(&detector, ID, 8), HM_STATUS_OK, "an issued ID to confirm");
}

static void misuse(void) {
    static struct HmEmbedder fresh_embedder; /* zeroed: never initialised */
    static struct HmDetector fresh_detector;
    int16_t samples[6] = {0};
    check_status(hm_embedder_process_i16(&fresh_embedder, 0, samples, 6), HM_STATUS_NOT_INITIALISED,
                 "an embedder must be initialised");
    check_status(hm_detector_process_i16(&fresh_detector, 0, samples, 6, NULL, NULL), HM_STATUS_NOT_INITIALISED,
                 "a detector must be initialised");
    check_status(hm_embedder_init(NULL, NULL), HM_STATUS_NULL_POINTER, "NULL storage");
    check_status(hm_embedder_process_i16(NULL, 0, samples, 6), HM_STATUS_NULL_POINTER, "NULL embedder");

    struct HmEmbedConfig ec;
    hm_embed_config_default(&ec);
    memcpy(ec.id, ID, sizeof ID);
    ec.id_len = 0;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_ID_LENGTH, "empty ID");
    ec.id_len = 21;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_ID_LENGTH, "21-byte ID");
    ec.id_len = 8;
    ec.sample_rate = 12345;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_SAMPLE_RATE, "odd sample rate");
    ec.sample_rate = 48000;
    ec.profiles = 0x10;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_PROFILE, "unknown profile");
    ec.profiles = HM_PROFILE_ULTRASONIC | HM_PROFILE_NEAR_ULTRASONIC;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_PROFILE, "two ultrasonic bands");
    ec.profiles = HM_PROFILE_ROBUST;
    ec.sample_rate = 44100;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_RATE_TOO_LOW_FOR_PROFILE,
                 "robust runs at 48 kHz");
    ec.sample_rate = 48000;
    ec.robust_mmr_db = 3.0f;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_ROBUST_STRENGTH, "robust too strong");
    ec.robust_mmr_db = -4.0f;
    ec.profiles = HM_PROFILE_ULTRASONIC;
    ec.level_dbfs = -3.0f;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_LEVEL, "too loud");
    check_status(hm_embedder_process_i16(&fresh_embedder, 0, samples, 6), HM_STATUS_NOT_INITIALISED,
                 "a failed init leaves the storage unusable");
    ec.level_dbfs = -30.0f;
    check_status(hm_embedder_init(&fresh_embedder, &ec), HM_STATUS_OK, "8-byte ID");
    check_status(hm_embedder_process_i16(&fresh_embedder, 0, samples, 5), HM_STATUS_PARTIAL_FRAME,
                 "half a stereo frame");

    struct HmDetectConfig dc;
    hm_detect_config_default(&dc);
    dc.sync_threshold = 1.0f;
    check_status(hm_detector_init(&fresh_detector, &dc), HM_STATUS_SYNC_THRESHOLD, "threshold too low");
    dc.sync_threshold = 11.0f;
    dc.channels = 9;
    check_status(hm_detector_init(&fresh_detector, &dc), HM_STATUS_CHANNELS, "nine channels");
    dc.channels = 2;
    check_status(hm_detector_init(&fresh_detector, &dc), HM_STATUS_OK, "detector re-init");
    dc.sync_threshold = 1.0f;
    check_status(hm_detector_init(&fresh_detector, &dc), HM_STATUS_SYNC_THRESHOLD, "bad re-init");
    check_status(hm_detector_process_i16(&fresh_detector, 0, samples, 6, NULL, NULL), HM_STATUS_NOT_INITIALISED,
                 "a failed re-init leaves the detector unusable, as for the embedder");
    check(strcmp(hm_status_message(HM_STATUS_OK), "ok") == 0, "messages");
    check(strcmp(hm_status_message(HM_STATUS_CONFIG), "the engine cannot run with this configuration") == 0,
          "the last status has its message");
    check(strcmp(hm_status_message(99), "not an HmStatus value") == 0, "an unknown status is named, not trusted");
}

int main(void) {
    round_trip();
    both_layers();
    misuse();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
