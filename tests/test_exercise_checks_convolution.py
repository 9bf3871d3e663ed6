"""Tests for utils.exercise_checks.convolution: right answers pass, typical wrong ones are explained."""

import pytest
import torch
import torch.nn.functional as F

from utils.checks import ExerciseError
from utils.exercise_checks import convolution as checks

# --- reference answers, written the way a learner might --------------------------------------


def conv2d_single_channel(image, kernel):
    kernel_height, kernel_width = kernel.shape
    output = torch.zeros(image.shape[0] - kernel_height + 1, image.shape[1] - kernel_width + 1, dtype=image.dtype)
    for i in range(output.shape[0]):
        for j in range(output.shape[1]):
            output[i, j] = (image[i:i + kernel_height, j:j + kernel_width] * kernel).sum()
    return output


def conv2d_single_channel_four_loops_float32(image, kernel):
    kernel_height, kernel_width = kernel.shape
    output = torch.zeros(image.shape[0] - kernel_height + 1, image.shape[1] - kernel_width + 1)  # float32
    for i in range(output.shape[0]):
        for j in range(output.shape[1]):
            total = 0.0
            for u in range(kernel_height):
                for v in range(kernel_width):
                    total += image[i + u, j + v].item() * kernel[u, v].item()
            output[i, j] = total
    return output


def conv2d_im2col(x, weight, bias, stride=1, padding=0):
    batch_size, _, height, width = x.shape
    out_channels, _, kernel_height, kernel_width = weight.shape
    output_height = (height + 2 * padding - kernel_height) // stride + 1
    output_width = (width + 2 * padding - kernel_width) // stride + 1
    columns = F.unfold(x, (kernel_height, kernel_width), stride=stride, padding=padding)
    output = weight.reshape(out_channels, -1) @ columns + bias.reshape(1, out_channels, 1)
    return output.reshape(batch_size, out_channels, output_height, output_width)


def conv2d_einsum(x, weight, bias, stride=1, padding=0):
    kernel_height, kernel_width = weight.shape[2:]
    x = F.pad(x, (padding, padding, padding, padding))
    windows = x.unfold(2, kernel_height, stride).unfold(3, kernel_width, stride)
    return torch.einsum("nchwuv,ocuv->nohw", windows, weight) + bias.reshape(1, -1, 1, 1)


def parameter_counts(in_channels, out_channels, kernel_size, height, width):
    inputs, outputs = in_channels * height * width, out_channels * height * width
    return out_channels * in_channels * kernel_size**2 + out_channels, inputs * outputs + outputs


SOBEL_Y = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


# --- exercise 1 ----------------------------------------------------------------------------------

def test_check_conv2d_single_channel_passes_right_answers():
    assert checks.check_conv2d_single_channel(conv2d_single_channel) is True
    assert checks.check_conv2d_single_channel(conv2d_single_channel_four_loops_float32) is True
    assert checks.check_conv2d_single_channel(lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0]) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda image, kernel: conv2d_single_channel(image, kernel.flip(0, 1)), "true convolution"),
        (lambda image, kernel: conv2d_single_channel(image, kernel)[:-1, :-1], "one short"),
        (lambda image, kernel: torch.ones_like(image), "size of the image"),
        (lambda image, kernel: conv2d_single_channel(image, kernel).T, "swapped"),
        (lambda image, kernel: torch.zeros(image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1),
         "all zeros"),
        (lambda image, kernel: conv2d_single_channel(image, kernel) + 1, "numbers are not"),
        (lambda image, kernel: image[: kernel.shape[0], : kernel.shape[1]] @ kernel.T, "raised|shape"),
    ],
)
def test_check_conv2d_single_channel_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_conv2d_single_channel(wrong)


def test_check_conv2d_single_channel_explains_a_transposed_kernel_on_square_kernels():
    def transposed_kernel(image, kernel):
        if kernel.shape[0] != kernel.shape[1]:
            return conv2d_single_channel(image, kernel)  # right on the non-square cases
        return conv2d_single_channel(image, kernel.T)

    with pytest.raises(ExerciseError, match="transposed"):
        checks.check_conv2d_single_channel(transposed_kernel)


def test_check_conv2d_single_channel_explains_crashes_and_unfinished_answers():
    def off_the_edge(image, kernel):
        output = torch.zeros(image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)
        for i in range(output.shape[0]):
            for j in range(output.shape[1]):
                output[i, j] = (image[i:i + 3, j:j + 3] * kernel).sum()  # assumes a 3x3 kernel
        return output

    with pytest.raises(ExerciseError, match="raised RuntimeError"):
        checks.check_conv2d_single_channel(off_the_edge)

    def unfinished(image, kernel):
        raise NotImplementedError("Your turn")

    with pytest.raises(ExerciseError, match="NotImplementedError"):
        checks.check_conv2d_single_channel(unfinished)


# --- exercises 2 and 3 ---------------------------------------------------------------------------

@pytest.mark.parametrize("check", [checks.check_conv2d_im2col, checks.check_conv2d_einsum])
@pytest.mark.parametrize("answer", [conv2d_im2col, conv2d_einsum, F.conv2d])
def test_check_conv_layer_passes_right_answers(check, answer):
    assert check(answer) is True


def _no_stride(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, bias, 1, padding)


def _no_padding(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, bias, stride, 0)


def _no_reshape(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, bias, stride, padding).flatten(2)


def _no_bias(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, bias * 0, stride, padding)


def _minus_bias(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, -bias, stride, padding)


def _flipped(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight.flip(2, 3), bias, stride, padding)


def _float16(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight, bias, stride, padding).half()  # rounding far beyond float32's


def _wrong_weight_layout(x, weight, bias, stride=1, padding=0):
    return conv2d_im2col(x, weight.transpose(2, 3).reshape(weight.shape), bias, stride, padding)


def _crashes(x, weight, bias, stride=1, padding=0):
    columns = F.unfold(x, weight.shape[2:], stride=stride, padding=padding)
    return weight.reshape(-1, weight.shape[0]) @ columns  # [C_in·kH·kW, C_out] @ [N, K, L]: mismatch


@pytest.mark.parametrize("check", [checks.check_conv2d_im2col, checks.check_conv2d_einsum])
@pytest.mark.parametrize(
    "wrong, message",
    [
        (_no_stride, "stride is ignored"),
        (_no_padding, "padding is ignored"),
        (_no_reshape, r"reshape the \[N, C_out, L\]"),
        (_no_bias, "everything but the bias"),
        (_minus_bias, "added, not subtracted"),
        (_flipped, "flipped the kernels"),
        (_float16, "numbers are not"),
        (_wrong_weight_layout, "numbers are not"),
        (_crashes, "raised RuntimeError.*Hint"),
        (lambda x, weight, bias, stride=1, padding=0: "output", "should be a tensor"),
    ],
)
def test_check_conv_layer_explains_wrong_answers(check, wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check(wrong)


def test_check_conv_layer_names_the_exercise_in_its_hints():
    with pytest.raises(ExerciseError, match="F.unfold"):
        checks.check_conv2d_im2col(_wrong_weight_layout)
    with pytest.raises(ExerciseError, match="einsum"):
        checks.check_conv2d_einsum(_wrong_weight_layout)


# --- exercise 4 ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kernel",
    [
        SOBEL_Y,
        SOBEL_Y / 8,
        torch.tensor([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]),  # Prewitt
        [[-1.0], [1.0]],  # the simplest: one pixel below minus one above
        torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64),
        SOBEL_Y.numpy(),
        torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),  # integers
        torch.tensor([[-1.0, -4.0, -6.0, -4.0, -1.0], [0.0] * 5, [1.0, 4.0, 6.0, 4.0, 1.0]]),
    ],
)
def test_check_horizontal_edge_kernel_passes_any_right_kernel(kernel):
    assert checks.check_horizontal_edge_kernel(kernel) is True


@pytest.mark.parametrize(
    "kernel, message",
    [
        (SOBEL_Y.T, "vertical edge.*transpose it"),  # Sobel x
        (-SOBEL_Y, "Flip its sign"),
        (torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]), "add up to 0"),
        (torch.full((3, 3), 1 / 9), "flat image"),
        (torch.tensor([[1.0, 2.0, 1.0], [-2.0, -4.0, -2.0], [1.0, 2.0, 1.0]]), "both signs"),
        (torch.tensor([[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), "vertical edge"),
        (torch.zeros(3, 3), "all zeros"),
        (SOBEL_Y[None], "2-D"),
        (torch.zeros(9, 9), "at most 7"),
        (torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]), "NaN"),
        ("sobel", "should be a tensor"),
    ],
)
def test_check_horizontal_edge_kernel_explains_wrong_kernels(kernel, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_horizontal_edge_kernel(kernel)


def test_check_horizontal_edge_kernel_uses_fresh_images():
    """The edge position and the brightness change between calls; a right kernel passes every time."""
    for _ in range(5):
        assert checks.check_horizontal_edge_kernel(SOBEL_Y) is True


# --- exercise 5 ----------------------------------------------------------------------------------

def test_check_parameter_counts_passes_right_answers():
    assert checks.check_parameter_counts(parameter_counts) is True
    # tensors and floats are fine too
    assert checks.check_parameter_counts(lambda *a: tuple(torch.tensor(v) for v in parameter_counts(*a))) is True
    assert checks.check_parameter_counts(lambda *a: [float(v) for v in parameter_counts(*a)]) is True


def _counts(conv, dense):
    """An answer whose conv and dense counts come from the two given formulas of (C_in, C_out, k, H, W)."""
    return lambda *args: (conv(*args), dense(*args))


def _dense_right(c_in, c_out, k, h, w):
    return parameter_counts(c_in, c_out, k, h, w)[1]


def _conv_right(c_in, c_out, k, h, w):
    return parameter_counts(c_in, c_out, k, h, w)[0]


@pytest.mark.parametrize(
    "answer, message",
    [
        (_counts(lambda ci, co, k, h, w: co * ci * k * k, _dense_right), "biases are missing: one per output channel"),
        (_counts(lambda ci, co, k, h, w: co * ci * k + co, _dense_right), "kernel_size²"),
        (_counts(lambda ci, co, k, h, w: co * ci * k * k + co * h * w, _dense_right), "bias is shared too"),
        (_counts(lambda ci, co, k, h, w: co * k * k + co, _dense_right), "one kernel per \\*input\\* channel"),
        (_counts(lambda ci, co, k, h, w: (co * ci * k * k + co) * h * w, _dense_right), "image size"),
        (_counts(_conv_right, lambda ci, co, k, h, w: ci * h * w * co * h * w), "biases are missing: one per output unit"),
        (_counts(_conv_right, lambda ci, co, k, h, w: ci * h * w * co * h * w + co), "one bias per output \\*unit\\*"),
        (_counts(_conv_right, lambda ci, co, k, h, w: ci * h * w * co + co), "C_out × H × W units"),
        (_counts(_conv_right, lambda ci, co, k, h, w: 42), "inputs × outputs"),
        (lambda *args: parameter_counts(*args)[0], "two numbers"),
        (lambda *args: (torch.ones(2), 1), "one number"),
    ],
)
def test_check_parameter_counts_explains_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_parameter_counts(answer)
